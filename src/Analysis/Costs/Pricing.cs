using Replay.Engines.Contract;

namespace Replay.Analysis.Costs;

/// <summary>Cycles of an engine's counts under one profile (SPEC §4, §5 summary columns).</summary>
/// <param name="ExitCycles">Σ over exit kinds of count × (transition + handler fixed) + units × per_unit.</param>
/// <param name="WalkCycles">Σ walk references served at each cache level × that level's cycles + psc_hits × psc_hit_cycles
/// + nested_tlb_hits × nested_tlb_hit_cycles.</param>
/// <param name="MmuCycles">exit + walk cycles.</param>
/// <param name="GuestCycles">(accesses + pt_writes) × cycles_per_access + insns × cycles_per_insn + guest_faults × guest_fault_cycles:
/// the guest's own work, the same under every engine (SPEC §4).</param>
/// <param name="TotalCycles">guest + MMU cycles.</param>
public readonly record struct PricedStats(double ExitCycles, double WalkCycles, double MmuCycles, double GuestCycles, double TotalCycles);

/// <summary>Turns counts into cycles. Engines never do this themselves, so a report can be re-priced without replaying.</summary>
public static class Pricing
{
    /// <summary>count × (transition(reason) + handler.fixed) + units × handler.per_unit.</summary>
    public static double ExitCycles(CostProfile profile, ExitKind kind, long count, long units)
    {
        var handler = profile.Handler(kind.Handler);
        return (count * (profile.TransitionCycles(kind.Reason.Transition) + handler.Fixed)) + (units * handler.PerUnit);
    }

    /// <summary>
    /// Prices <paramref name="stats"/>, whose exit arrays are indexed by <paramref name="kinds"/>. Every kind the
    /// engine can take must be priced by the profile, even one that never happened, so a profile that cannot
    /// price an engine fails on the first run rather than on the first trace that takes the missing exit.
    /// </summary>
    public static PricedStats Price(CostProfile profile, IReadOnlyList<ExitKind> kinds, EngineStats stats)
    {
        if (kinds.Count != stats.ExitCounts.Length)
        {
            throw new ArgumentException(
                $"The engine declares {kinds.Count} exit kinds but its stats hold {stats.ExitCounts.Length}.", nameof(kinds));
        }

        double exit = 0;
        for (int i = 0; i < kinds.Count; i++)
        {
            exit += ExitCycles(profile, kinds[i], stats.ExitCounts[i], stats.ExitUnits[i]);
        }

        double walk = WalkCycles(profile.Walk, stats);
        double guest = ((stats.Accesses + stats.PtWrites) * profile.CyclesPerAccess) + (stats.Insns * profile.CyclesPerInsn)
            + (stats.GuestFaults * profile.GuestFaultCycles);
        double mmu = exit + walk;
        return new PricedStats(exit, walk, mmu, guest, guest + mmu);
    }

    /// <summary>
    /// Walk references at the latency of the level that served them, plus the walk caches' hits. Written as every
    /// reference at the L1 latency plus what each farther level adds (equal, since the levels sum to walk_refs), so a
    /// profile whose levels all cost the same (an earlier release's flat <c>ref_cycles</c>) prices walk_refs alone and
    /// re-prices a report that never recorded the levels.
    /// </summary>
    public static double WalkCycles(WalkCosts c, EngineStats s) =>
        (s.WalkRefs * c.L1) + (s.WalkL2 * (c.L2 - c.L1)) + (s.WalkL3 * (c.L3 - c.L1)) + (s.WalkMem * (c.Memory - c.L1))
        + (s.PscHits * c.PscHit) + (s.NestedTlbHits * c.NestedTlbHit);
}
