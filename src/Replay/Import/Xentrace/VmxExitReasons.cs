namespace Replay.Import.Xentrace;

/// <summary>Intel's VM-exit basic reasons (SDM vol. 3 appendix C), named as Xen's xenalyze names them.</summary>
internal static class VmxExitReasons
{
    public const int ExceptionNmi = 0;
    public const int ExternalInterrupt = 1;
    public const int Vmcall = 18;
    public const int IoInstruction = 30;
    public const int EptViolation = 48;

    private static readonly string[] Names =
    [
        "EXCEPTION_NMI", "EXTERNAL_INTERRUPT", "TRIPLE_FAULT", "INIT", "SIPI", "IO_SMI", "OTHER_SMI", "PENDING_INTERRUPT",
        "PENDING_VIRT_NMI", "TASK_SWITCH", "CPUID", "GETSEC", "HLT", "INVD", "INVLPG", "RDPMC",
        "RDTSC", "RSM", "VMCALL", "VMCLEAR", "VMLAUNCH", "VMPTRLD", "VMPTRST", "VMREAD",
        "VMRESUME", "VMWRITE", "VMOFF", "VMON", "CR_ACCESS", "DR_ACCESS", "IO_INSTRUCTION", "MSR_READ",
        "MSR_WRITE", "INVALID_GUEST_STATE", "MSR_LOADING", "", "MWAIT_INSTRUCTION", "MONITOR_TRAP_FLAG", "", "MONITOR_INSTRUCTION",
        "PAUSE_INSTRUCTION", "MACHINE_CHECK", "", "TPR_BELOW_THRESHOLD", "APIC_ACCESS", "VIRTUALIZED_EOI", "ACCESS_GDTR_OR_IDTR", "ACCESS_LDTR_OR_TR",
        "EPT_VIOLATION", "EPT_MISCONFIG", "INVEPT", "RDTSCP", "VMX_PREEMPTION_TIMER_EXPIRED", "INVVPID", "WBINVD", "XSETBV",
        "APIC_WRITE", "RDRAND", "INVPCID", "VMFUNC", "ENCLS", "RDSEED", "PML_FULL", "XSAVES",
        "XRSTORS", "", "SPP", "UMWAIT", "TPAUSE", "LOADIWKEY", "ENQCMD", "ENQCMDS",
    ];

    /// <summary>Codes from <see cref="SvmBase"/> up stand for an AMD SVM exit code with no Intel equivalent (<see cref="FromSvm"/>).</summary>
    public const int SvmBase = 0x10000;

    /// <summary>The name of basic exit reason <paramref name="code"/>, <c>SVM_EXIT_0xN</c> for an unmapped SVM code, or <c>EXIT_REASON_N</c>.</summary>
    public static string Name(int code) =>
        code >= SvmBase ? $"SVM_EXIT_0x{code - SvmBase:x}"
        : (uint)code < (uint)Names.Length && Names[code].Length > 0 ? Names[code] : $"EXIT_REASON_{code}";

    /// <summary>The report's <c>reason_code</c>: Intel's number, or −1 for an SVM exit that has none.</summary>
    public static int ReportCode(int code) => code >= SvmBase ? -1 : code;

    /// <summary>
    /// An AMD SVM exit code (APM vol. 2 appendix C, <c>VMEXIT_*</c>) as the Intel basic reason of the same event: NPF as
    /// EPT_VIOLATION, VMMCALL as VMCALL, IOIO as IO_INSTRUCTION, #PF as EXCEPTION_NMI, CR writes as CR_ACCESS, and so on;
    /// any other as <see cref="SvmBase"/> + code.
    /// </summary>
    public static int FromSvm(uint code) => code switch
    {
        >= 0x00 and <= 0x1f => 28, // VMEXIT_CR0..15_READ / _WRITE
        >= 0x20 and <= 0x3f => 29, // VMEXIT_DR*
        >= 0x40 and <= 0x5f => ExceptionNmi, // VMEXIT_EXCEPTION_* (#PF is 0x4e)
        0x60 => ExternalInterrupt, // VMEXIT_INTR
        0x61 => 0, // VMEXIT_NMI
        0x64 => 7, // VMEXIT_VINTR: the interrupt window
        0x72 => 10, // VMEXIT_CPUID
        0x6e => 16, // VMEXIT_RDTSC
        0x78 => 12, // VMEXIT_HLT
        0x79 => 14, // VMEXIT_INVLPG
        0x7b => IoInstruction, // VMEXIT_IOIO
        0x7f => 2, // VMEXIT_SHUTDOWN
        0x81 => Vmcall, // VMEXIT_VMMCALL
        0x87 => 51, // VMEXIT_RDTSCP
        0x89 => 54, // VMEXIT_WBINVD
        0x8d => 55, // VMEXIT_XSETBV
        0x400 => EptViolation, // VMEXIT_NPF
        _ => SvmBase + (int)Math.Min(code, 0xffff),
    };
}
