namespace Replay.Import.Xentrace;

/// <summary>
/// Xen trace event ids (xen/include/public/trace.h): the 28-bit event of a record's header. Bits 16-27 are the class
/// (<c>TRC_HVM</c> = 0x008), 12-15 the subclass, the low 12 bits the event; <see cref="Flag64"/> (0x100) marks the
/// record variant with 64-bit addresses (a 64-bit guest, xenalyze's <c>TRC_64_FLAG</c>).
/// </summary>
internal static class XenEvents
{
    /// <summary><c>TRC_64_FLAG</c>: the record carries 64-bit addresses.</summary>
    public const uint Flag64 = 0x100;

    public const uint LostRecords = 0x0001f001;
    public const uint WrapBuffer = 0x0001f002;

    /// <summary><c>TRC_TRACE_CPU_CHANGE</c> {cpu, window_size}: the next window_size bytes are records of that CPU (xentrace.c).</summary>
    public const uint CpuChange = 0x0001f003;

    /// <summary><c>TRC_SCHED_MIN</c>: runstate changes, event = 0x00021000 | old &lt;&lt; 8 | new &lt;&lt; 4 | 1 (2 = continue running).</summary>
    public const uint SchedMin = 0x00021000;

    public const uint SchedSwitch = 0x0002800a;

    public const uint VmEntry = 0x00081001;
    public const uint VmxExit = 0x00081002;
    public const uint SvmExit = 0x00081003;

    /// <summary><c>TRC_HVM_HANDLER</c>: the subclass of the handler records written between a VMEXIT and its VMENTRY.</summary>
    public const uint HvmHandler = 0x00082000;

    public const uint PfXen = 0x00082001;
    public const uint PfInject = 0x00082002;
    public const uint InjVirq = 0x00082004;
    public const uint ReinjVirq = 0x00082005;
    public const uint CrWrite = 0x00082009;
    public const uint Vmmcall = 0x00082012;
    public const uint Invlpg = 0x00082014;
    public const uint IntrWindow = 0x00082020;
    public const uint Npf = 0x00082021;

    /// <summary><c>TRC_PV_PTWR_EMULATION</c> {pte, addr, eip} (32- or 64-bit words by <see cref="Flag64"/>) and its PAE variant.</summary>
    public const uint PtwrEmulation = 0x0020100b;
    public const uint PtwrEmulationPae = 0x0020100c;

    /// <summary><c>TRC_SHADOW</c> + n, OR (guest paging levels − 2) &lt;&lt; 8: the outcome of a shadow fault (sh_page_fault).</summary>
    public const uint Shadow = 0x0040f000;

    /// <summary>The class of <paramref name="ev"/> (bits 16-27: 0x0001 general, 0x0002 scheduler, 0x0008 HVM, 0x0020 PV, 0x0040 shadow).</summary>
    public static uint Class(uint ev) => ev >> 16;

    /// <summary>The handler names of xenalyze's <c>hvm_event_handler_name</c>, by <c>event − TRC_HVM_HANDLER</c> (without the 64-bit flag).</summary>
    private static readonly string[] HandlerNames =
    [
        "(no handler)", "pf_xen", "pf_inject", "inj_exc", "inj_virq", "reinj_virq", "io_read", "io_write",
        "cr_read", "cr_write", "dr_read", "dr_write", "msr_read", "msr_write", "cpuid", "intr",
        "nmi", "smi", "vmcall", "hlt", "invlpg", "mce", "io_assist", "mmio_assist",
        "clts", "lmsw", "rdtsc", "", "", "", "", "",
        "intr_window", "npf", "realmode_emulate", "trap", "trap_debug", "vlapic", "xcr_read", "xcr_write",
    ];

    /// <summary>The handler name of HVM handler record <paramref name="ev"/> (its I/O variants <c>+0x200</c> as the base), or null.</summary>
    public static string? HandlerName(uint ev)
    {
        uint n = (ev - HvmHandler) & ~(Flag64 | 0x200);
        return n < HandlerNames.Length && HandlerNames[n].Length > 0 ? HandlerNames[n] : null;
    }

    /// <summary>Names of the shadow-fault outcomes, <c>TRC_SHADOW_*</c> + 1 … 15 (trace.h), as Xen's perf counters spell them.</summary>
    private static readonly string[] ShadowNames =
    [
        "", "not_shadow", "fast_propagate", "fast_mmio", "false_fast_path", "mmio", "fixup", "domf_dying", "emulate",
        "emulate_unshadow_user", "emulate_unshadow_evtinj", "emulate_unshadow_unhandled", "wrmap_bf", "prealloc_unpin",
        "resync_full", "resync_only",
    ];

    /// <summary>The outcome of shadow record <paramref name="ev"/> (<c>fixup</c>, <c>emulate</c>, …), or null for another event.</summary>
    public static string? ShadowOutcome(uint ev)
    {
        if ((ev & 0x0ffff000) != Shadow)
        {
            return null;
        }

        uint n = ev & 0xff;
        return n is > 0 and < 16 ? ShadowNames[n] : null;
    }

    /// <summary>Xen hypercall names by number (xen/include/public/xen.h, as xenalyze prints them).</summary>
    private static readonly string[] Hypercalls =
    [
        "set_trap_table", "mmu_update", "set_gdt", "stack_switch", "set_callbacks", "fpu_taskswitch", "sched_op_compat", "platform_op",
        "set_debugreg", "get_debugreg", "update_descriptor", "", "memory_op", "multicall", "update_va_mapping", "set_timer_op",
        "evtchn_op_compat", "xen_version", "console_io", "physdev_op_compat", "grant_table_op", "vm_assist", "update_va_mapping_otherdomain", "iret",
        "vcpu_op", "set_segment_base", "mmuext_op", "xsm_op", "nmi_op", "sched_op", "callback_op", "xenoprof_op",
        "evtchn_op", "physdev_op", "hvm_op", "sysctl", "domctl", "kexec_op", "tmem_op", "argo_op",
        "xenpmu_op", "dm_op", "hypfs_op",
    ];

    /// <summary>The name of hypercall <paramref name="nr"/> (<c>vcpu_op</c>), or <c>hypercall_N</c> for a number Xen does not name.</summary>
    public static string HypercallName(uint nr) =>
        nr < Hypercalls.Length && Hypercalls[nr].Length > 0 ? Hypercalls[nr] : $"hypercall_{nr}";
}
