using Replay.Engines.Contract;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// The exit kinds of the shadow machinery (personality-independent), declared once in stats order. Work done inside
/// another exit (resyncs at a CR3 load, an early unshadow after an emulation, eviction while allocating, prefetch
/// after a fill) is WITHIN_EXIT, priced at its handler's cost with no transition of its own, as for writable-pt's
/// reconnects.
/// </summary>
internal static class ShadowKinds
{
    public static readonly ExitKindList Kinds = new();
    public static readonly ExitHandle Cr3Switch = Kinds.Add(ExitReason.CrAccess, "cr3_switch");
    public static readonly ExitHandle FlushAll = Kinds.Add(ExitReason.CrAccess, "flush_all");
    public static readonly ExitHandle InvlpgExit = Kinds.Add(ExitReason.Invlpg, "invlpg");
    public static readonly ExitHandle ShadowFill = Kinds.Add(ExitReason.ExceptionNmi, "shadow_fill");
    public static readonly ExitHandle GuestPfReflect = Kinds.Add(ExitReason.ExceptionNmi, "guest_pf_reflect");
    public static readonly ExitHandle PtEmulate = Kinds.Add(ExitReason.ExceptionNmi, "pt_emulate");
    public static readonly ExitHandle FastEmulate = Kinds.Add(ExitReason.ExceptionNmi, "fast_emulate");
    public static readonly ExitHandle OosUnsync = Kinds.Add(ExitReason.ExceptionNmi, "oos_unsync");
    public static readonly ExitHandle UnshadowExit = Kinds.Add(ExitReason.ExceptionNmi, "unshadow");
    public static readonly ExitHandle DyingHypercall = Kinds.Add(ExitReason.Vmcall, "unshadow");
    public static readonly ExitHandle OosResync = Kinds.Add(ExitReason.WithinExit, "oos_resync");
    public static readonly ExitHandle UnshadowWithin = Kinds.Add(ExitReason.WithinExit, "unshadow");
    public static readonly ExitHandle PrefetchWithin = Kinds.Add(ExitReason.WithinExit, "shadow_prefetch");
}
