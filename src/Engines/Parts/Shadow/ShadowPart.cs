using Replay.Engines.Contract;
using Replay.Engines.Guest;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// What every part of the shadow machinery reaches through its <see cref="ShadowMmu"/>: the store, the per-vCPU
/// state, the options and personality, the machine, and the ways to count, flush and report pages. The other parts
/// are reached as <c>_m.Pool</c>, <c>_m.Oos</c>, <c>_m.Faults</c>, <c>_m.Emulation</c>, <c>_m.Roots</c>.
/// </summary>
internal abstract class ShadowPart(ShadowMmu m)
{
    protected readonly ShadowMmu _m = m;
    protected readonly ShadowStore _store = m.Store;
    protected readonly VcpuShadow[] _v = m.Vcpus;
    protected readonly ShadowOptions _o = m.Options;
    protected readonly bool _xen = m.Xen;

    protected GuestMachine Machine => _m.Machine;

    protected EngineStats Stats => _m.Stats;

    protected int Levels => _m.Levels;

    protected void Count(Cnt c, long n = 1) => _m.Count(c, n);

    protected void Exit(ExitHandle kind, long units = 0) => _m.Exit(kind, units);

    protected void Within(ExitHandle kind, long units = 0) => _m.Within(kind, units);

    protected void FlushEverywhere() => _m.FlushEverywhere();

    protected void UpdatePages() => _m.UpdatePages();
}
