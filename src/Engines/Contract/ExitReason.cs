namespace Replay.Engines.Contract;

/// <summary>Which transition an exit pays for before its handler runs (SPEC §4).</summary>
public enum Transition : byte
{
    /// <summary>A hardware VM exit plus VM entry round trip.</summary>
    VmExit = 0,

    /// <summary>A paravirtual trap into the hypervisor (PV guests).</summary>
    PvTrap = 1,

    /// <summary>A paravirtual hypercall.</summary>
    Hypercall = 2,

    /// <summary>
    /// No transition of its own: work a handler does inside another exit (writable-pt's reconnect during a
    /// hypercall or a disconnect trap). Priced at its handler's cost only and not counted as an exit.
    /// </summary>
    None = 3,
}

/// <summary>
/// An exit reason: Intel's basic exit-reason name and number for VT-x exits, or the PV names
/// (<c>PV_TRAP</c>, <c>HYPERCALL</c>, code −1) for the paravirtual engine.
/// </summary>
public sealed record ExitReason(string Name, int Code, Transition Transition)
{
    public static readonly ExitReason ExceptionNmi = new("EXCEPTION_NMI", 0, Transition.VmExit);

    /// <summary>An external interrupt (a timer tick, an IPI) exited the guest; the hypervisor's own work may run in it.</summary>
    public static readonly ExitReason ExternalInterrupt = new("EXTERNAL_INTERRUPT", 1, Transition.VmExit);
    public static readonly ExitReason Invlpg = new("INVLPG", 14, Transition.VmExit);
    public static readonly ExitReason Vmcall = new("VMCALL", 18, Transition.VmExit);
    public static readonly ExitReason CrAccess = new("CR_ACCESS", 28, Transition.VmExit);
    public static readonly ExitReason EptViolation = new("EPT_VIOLATION", 48, Transition.VmExit);
    public static readonly ExitReason PvTrap = new("PV_TRAP", -1, Transition.PvTrap);
    public static readonly ExitReason Hypercall = new("HYPERCALL", -1, Transition.Hypercall);

    /// <summary>Work done inside another exit (see <see cref="Transition.None"/>); reported under this name.</summary>
    public static readonly ExitReason WithinExit = new("WITHIN_EXIT", -1, Transition.None);

    /// <summary>Every reason an engine reports, for reading reports back.</summary>
    public static IReadOnlyList<ExitReason> All { get; } = [ExceptionNmi, ExternalInterrupt, Invlpg, Vmcall, CrAccess, EptViolation, PvTrap, Hypercall, WithinExit];

    /// <summary>The reason a report names, or null when this version does not know it.</summary>
    public static ExitReason? FromName(string name) => All.FirstOrDefault(r => r.Name == name);
}

/// <summary>One kind of exit an engine can take: a reason and the handler that serves it.</summary>
public sealed record ExitKind(ExitReason Reason, string Handler);
