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

    /// <summary>The name of basic exit reason <paramref name="code"/>, or <c>EXIT_REASON_N</c> for one without a name.</summary>
    public static string Name(int code) =>
        (uint)code < (uint)Names.Length && Names[code].Length > 0 ? Names[code] : $"EXIT_REASON_{code}";
}
