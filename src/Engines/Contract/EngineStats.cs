namespace Replay.Engines.Contract;

/// <summary>
/// Everything an engine counts, as plain data that adds and subtracts (for phases and timeline windows).
/// Engines only count; the cost model turns these into cycles. Exit counts and units are indexed by the
/// engine's <see cref="IMmuEngine.ExitKinds"/>, counters by its <see cref="IMmuEngine.CounterNames"/>.
/// </summary>
public sealed class EngineStats
{
    /// <summary>All counts zero, sized for an engine's <paramref name="exitKinds"/> exit kinds and <paramref name="counters"/> counters.</summary>
    public EngineStats(int exitKinds, int counters)
    {
        ExitCounts = new long[exitKinds];
        ExitUnits = new long[exitKinds];
        Counters = new long[counters];
    }

    // Event counts (the driver fills these; engines never touch them).

    /// <summary>Trace events replayed (every op but <c>mark</c>), over the same range as every other count here.</summary>
    public long Events;

    /// <summary><c>read</c>, <c>write</c> and <c>fetch</c> events: the calls of <see cref="IEngineHooks.Access"/>.</summary>
    public long Accesses;

    /// <summary><c>cr3</c> events: the calls of <see cref="IEngineHooks.LoadCr3"/>.</summary>
    public long Cr3Loads;

    /// <summary><c>ptwrite</c> events (not <c>ptinit</c>): page-table stores during the trace.</summary>
    public long PtWrites;

    /// <summary><c>invlpg</c> events.</summary>
    public long Invlpgs;

    /// <summary><c>flush</c> events (both kinds).</summary>
    public long Flushes;

    /// <summary>Well-formedness warnings the trace checker raised over these events (SPEC §1).</summary>
    public long TraceWarnings;

    /// <summary>
    /// Σ of the trace's <c>insns</c> column over the events counted (SPEC §1): instructions retired that the trace
    /// does not list as events. Filled by the driver; engines never touch it.
    /// </summary>
    public long Insns;

    /// <summary>
    /// Instructions the guest retired (SPEC §5 <c>instructions</c>): <c>fetch</c> events plus <see cref="Insns"/>,
    /// over the same events, so the invariant <c>Instructions == fetches + Insns</c> holds for the whole run, every
    /// phase and every window, and survives <see cref="Add"/> and <see cref="Minus"/>. Filled by the driver.
    /// </summary>
    public long Instructions;

    // What the engine measured.

    /// <summary>Page faults the guest itself sees (its tables do not map the access): priced at the profile's guest fault cost, whether or not the VMM took an exit to reflect them.</summary>
    public long GuestFaults;

    /// <summary>Accesses the hardware TLB could not translate (each starts one hardware walk).</summary>
    public long TlbMisses;
    /// <summary>Page-walk memory references of the hardware walker (entries read); = <see cref="WalkL1"/> + <see cref="WalkL2"/> + <see cref="WalkL3"/> + <see cref="WalkMem"/>.</summary>
    public long WalkRefs;

    /// <summary>Walk references served by the L1 data cache of the engine's memory-hierarchy model.</summary>
    public long WalkL1;

    /// <summary>Walk references served by the second-level cache.</summary>
    public long WalkL2;

    /// <summary>Walk references served by the last-level cache.</summary>
    public long WalkL3;

    /// <summary>Walk references served by memory.</summary>
    public long WalkMem;

    /// <summary>Walks that started below the root from a paging-structure-cache entry (guest or EPT dimension).</summary>
    public long PscHits;

    /// <summary>Guest-physical translations of a 2-D walk answered by the nested TLB (each one spares an EPT walk).</summary>
    public long NestedTlbHits;

    /// <summary>VM exits (or PV traps) taken: Σ of <see cref="ExitCounts"/> over the kinds with a transition; handler work done inside another exit (<see cref="Within"/>) is not one.</summary>
    public long Exits;

    /// <summary>Pages the VMM allocated for its translation structures: shadow pages, and the EPT table pages an engine with a nested dimension fills.</summary>
    public long ShadowPagesCreated;

    /// <summary>Shadow pages freed: evicted from the pool, unshadowed, or dropped with a flushed or dying address space.</summary>
    public long ShadowPagesEvicted;

    /// <summary>Guest page-table stores the VMM emulated (write-protection faults, Xen's fast path included); PV writes through a hypercall count too.</summary>
    public long EmulatedWrites;

    /// <summary>Shadowed pages let out of sync (Xen <c>sh_unsync</c>, KVM unsync): write protection dropped so later writes do not exit.</summary>
    public long Unsyncs;

    /// <summary>Out-of-sync pages brought back in sync (re-protected and their shadow entries revalidated).</summary>
    public long Resyncs;

    /// <summary>Frames whose every shadow was removed because the VMM decided they are no longer page tables (Xen's unshadow heuristics, KVM write flooding).</summary>
    public long Unshadows;

    /// <summary>Shadow pages currently allocated (a level, not a count; not subtracted by <see cref="Minus"/>).</summary>
    public long ShadowPages;

    /// <summary>Highest <see cref="ShadowPages"/> over the run (for a phase result: over the phase).</summary>
    public long ShadowPagesPeak;

    /// <summary>Highest <see cref="ShadowPages"/> since the last <see cref="ResetSegmentPeak"/> (the driver's phase and window peaks).</summary>
    public long SegmentPeak;

    /// <summary>Per exit kind (indexed as <see cref="IMmuEngine.ExitKinds"/>): how many times its handler ran, as an exit or within one.</summary>
    public long[] ExitCounts { get; }

    /// <summary>Per exit kind: the work units its handler did (entries copied, pages resynced...), priced per unit by the profile.</summary>
    public long[] ExitUnits { get; }

    /// <summary>Engine-specific counters, indexed as <see cref="IMmuEngine.CounterNames"/>; they add and subtract like the rest.</summary>
    public long[] Counters { get; }

    /// <summary>Records one exit of kind <paramref name="kind"/> with <paramref name="units"/> work units.</summary>
    public void Exit(int kind, long units = 0)
    {
        Exits++;
        ExitCounts[kind]++;
        ExitUnits[kind] += units;
    }

    /// <summary>
    /// Records handler work of kind <paramref name="kind"/> done inside another exit (its reason has
    /// <see cref="Transition.None"/>): counted and priced, but not an exit.
    /// </summary>
    public void Within(int kind, long units = 0)
    {
        ExitCounts[kind]++;
        ExitUnits[kind] += units;
    }

    /// <summary>Records one exit of the declared kind <paramref name="kind"/> (an engine whose kinds start at index 0).</summary>
    public void Exit(ExitHandle kind, long units = 0) => Exit(kind.Index, units);

    /// <summary>Records work of the declared kind <paramref name="kind"/> inside another exit (see <see cref="Within(int, long)"/>).</summary>
    public void Within(ExitHandle kind, long units = 0) => Within(kind.Index, units);

    /// <summary>Adds <paramref name="n"/> to the declared counter <paramref name="counter"/> (an engine whose counters start at index 0).</summary>
    public void Count(CounterHandle counter, long n = 1) => Counters[counter.Index] += n;

    /// <summary>Updates the current shadow page level and its peak.</summary>
    public void SetShadowPages(long pages)
    {
        ShadowPages = pages;
        if (pages > ShadowPagesPeak)
        {
            ShadowPagesPeak = pages;
        }

        if (pages > SegmentPeak)
        {
            SegmentPeak = pages;
        }
    }

    /// <summary>Starts a new segment peak at the current level.</summary>
    public void ResetSegmentPeak() => SegmentPeak = ShadowPages;

    /// <summary>A copy of every count, level and peak.</summary>
    public EngineStats Clone()
    {
        var c = new EngineStats(ExitCounts.Length, Counters.Length);
        c.AddFrom(this, 1);
        c.ShadowPages = ShadowPages;
        c.ShadowPagesPeak = ShadowPagesPeak;
        return c;
    }

    /// <summary>This minus <paramref name="earlier"/> for every count; levels and peaks are taken from this.</summary>
    public EngineStats Minus(EngineStats earlier)
    {
        var c = Clone();
        c.AddFrom(earlier, -1);
        return c;
    }

    /// <summary>Adds <paramref name="other"/>'s counts into this; the peak becomes the larger one.</summary>
    public void Add(EngineStats other)
    {
        AddFrom(other, 1);
        ShadowPages = other.ShadowPages;
        ShadowPagesPeak = Math.Max(ShadowPagesPeak, other.ShadowPagesPeak);
    }

    /// <summary>
    /// Visits every scalar field of this paired with the same field of <paramref name="other"/>, in one fixed order:
    /// the counts (what <see cref="Add"/> and <see cref="Minus"/> sum), then, when <paramref name="levels"/>, the level
    /// <see cref="ShadowPages"/> and its peak <see cref="ShadowPagesPeak"/>. <see cref="SegmentPeak"/>, the driver's
    /// scratch, is in neither. This is the one list of the scalars: a new field is added here, and adding,
    /// subtracting and the driver's window spill follow.
    /// </summary>
    public void VisitScalars<T>(EngineStats other, ref T visitor, bool levels)
        where T : struct, IStatsVisitor, allows ref struct
    {
        ArgumentNullException.ThrowIfNull(other);
        visitor.Visit(ref Events, other.Events);
        visitor.Visit(ref Accesses, other.Accesses);
        visitor.Visit(ref Cr3Loads, other.Cr3Loads);
        visitor.Visit(ref PtWrites, other.PtWrites);
        visitor.Visit(ref Invlpgs, other.Invlpgs);
        visitor.Visit(ref Flushes, other.Flushes);
        visitor.Visit(ref TraceWarnings, other.TraceWarnings);
        visitor.Visit(ref Insns, other.Insns);
        visitor.Visit(ref Instructions, other.Instructions);
        visitor.Visit(ref GuestFaults, other.GuestFaults);
        visitor.Visit(ref TlbMisses, other.TlbMisses);
        visitor.Visit(ref WalkRefs, other.WalkRefs);
        visitor.Visit(ref WalkL1, other.WalkL1);
        visitor.Visit(ref WalkL2, other.WalkL2);
        visitor.Visit(ref WalkL3, other.WalkL3);
        visitor.Visit(ref WalkMem, other.WalkMem);
        visitor.Visit(ref PscHits, other.PscHits);
        visitor.Visit(ref NestedTlbHits, other.NestedTlbHits);
        visitor.Visit(ref Exits, other.Exits);
        visitor.Visit(ref ShadowPagesCreated, other.ShadowPagesCreated);
        visitor.Visit(ref ShadowPagesEvicted, other.ShadowPagesEvicted);
        visitor.Visit(ref EmulatedWrites, other.EmulatedWrites);
        visitor.Visit(ref Unsyncs, other.Unsyncs);
        visitor.Visit(ref Resyncs, other.Resyncs);
        visitor.Visit(ref Unshadows, other.Unshadows);
        if (levels)
        {
            visitor.Visit(ref ShadowPages, other.ShadowPages);
            visitor.Visit(ref ShadowPagesPeak, other.ShadowPagesPeak);
        }
    }

    private void AddFrom(EngineStats o, int sign)
    {
        var add = new AddTimes(sign);
        VisitScalars(o, ref add, levels: false);
        for (int i = 0; i < ExitCounts.Length; i++)
        {
            ExitCounts[i] += sign * o.ExitCounts[i];
            ExitUnits[i] += sign * o.ExitUnits[i];
        }

        for (int i = 0; i < Counters.Length; i++)
        {
            Counters[i] += sign * o.Counters[i];
        }
    }

    private readonly struct AddTimes(int sign) : IStatsVisitor
    {
        public void Visit(ref long mine, long other) => mine += sign * other;
    }
}

/// <summary>What <see cref="EngineStats.VisitScalars{T}"/> calls for each scalar field.</summary>
public interface IStatsVisitor
{
    /// <summary>One field: <paramref name="mine"/> of the stats visited, <paramref name="other"/> the same field of the other stats.</summary>
    void Visit(ref long mine, long other);
}
