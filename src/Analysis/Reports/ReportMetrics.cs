using static Replay.Analysis.Reports.MetricSources;

namespace Replay.Analysis.Reports;

/// <summary>
/// Every report metric, declared once. The summary's metric columns are these in declaration order (SPEC §5 order,
/// then what an exact <c>reprice</c> needs); the timeline's are those in <see cref="ReportFiles.Timeline"/> by
/// <see cref="ReportMetric.TimelineOrder"/>; the per-vCPU file's are those in <see cref="ReportFiles.Vcpus"/>, in declaration
/// order (every summary metric but the shadow pool's peak and the run's time). Adding a metric is one declaration here (plus, for a count, its field in
/// <c>EngineStats</c> and the code that counts it); see README "Adding a metric". Existing columns keep their
/// names, order and types: reports already written, the nightly baselines among them, depend on it.
/// </summary>
public static class ReportMetrics
{
    /// <summary>The summary, the timeline and the per-vCPU file.</summary>
    private const ReportFiles Both = ReportFiles.Summary | ReportFiles.Timeline | ReportFiles.Vcpus;

    private static List<ReportMetric>? s_declared; // no initializer: the declarations below fill it first

    // A Lazy, not a field initialized after the declarations, so that moving declarations around cannot run it early.
    private static readonly Lazy<MetricSet> s_all = new(() => new MetricSet(s_declared!));

    /// <summary>Engine-independent events in the span (trace rows replayed).</summary>
    public static readonly ReportMetric<long> Events = Declare(new ReportMetric<long>("events", "events", Count(s => s.Events, (s, v) => s.Events = v)));

    /// <summary>Guest memory accesses (fetch, read, write events).</summary>
    public static readonly ReportMetric<long> Accesses = Declare(new ReportMetric<long>("accesses", "accesses", Count(s => s.Accesses, (s, v) => s.Accesses = v))
    {
        Files = Both, TimelineOrder = 1,
    });

    /// <summary>Guest CR3 loads.</summary>
    public static readonly ReportMetric<long> Cr3Loads = Declare(new ReportMetric<long>("cr3_loads", "loads", Count(s => s.Cr3Loads, (s, v) => s.Cr3Loads = v)));

    /// <summary>Guest page-table writes.</summary>
    public static readonly ReportMetric<long> PtWrites = Declare(new ReportMetric<long>("pt_writes", "writes", Count(s => s.PtWrites, (s, v) => s.PtWrites = v)));

    /// <summary>Guest INVLPGs.</summary>
    public static readonly ReportMetric<long> Invlpgs = Declare(new ReportMetric<long>("invlpgs", "invlpgs", Count(s => s.Invlpgs, (s, v) => s.Invlpgs = v)));

    /// <summary>Guest TLB flushes.</summary>
    public static readonly ReportMetric<long> Flushes = Declare(new ReportMetric<long>("flushes", "flushes", Count(s => s.Flushes, (s, v) => s.Flushes = v)));

    /// <summary>Page faults the guest itself takes (identical under every engine).</summary>
    public static readonly ReportMetric<long> GuestFaults = Declare(new ReportMetric<long>("guest_faults", "faults", Count(s => s.GuestFaults, (s, v) => s.GuestFaults = v))
    {
        Files = Both, TimelineOrder = 3, Compare = new(CompareRule.HigherIsWorse, 4), Show = new(2),
    });

    /// <summary>Well-formedness warnings of the trace (SPEC §1).</summary>
    public static readonly ReportMetric<long> TraceWarnings = Declare(new ReportMetric<long>("trace_warnings", "warnings", Count(s => s.TraceWarnings, (s, v) => s.TraceWarnings = v)));

    /// <summary>TLB misses.</summary>
    public static readonly ReportMetric<long> TlbMisses = Declare(new ReportMetric<long>("tlb_misses", "misses", Count(s => s.TlbMisses, (s, v) => s.TlbMisses = v))
    {
        Files = Both, TimelineOrder = 4, Show = new(3),
    });

    /// <summary>Page-walk memory references.</summary>
    public static readonly ReportMetric<long> WalkRefs = Declare(new ReportMetric<long>("walk_refs", "references", Count(s => s.WalkRefs, (s, v) => s.WalkRefs = v))
    {
        Files = Both, TimelineOrder = 7, Show = new(4),
    });

    /// <summary>VM exits and PV traps (work done inside another exit is not one).</summary>
    public static readonly ReportMetric<long> Exits = Declare(new ReportMetric<long>("exits", "exits", Count(s => s.Exits, (s, v) => s.Exits = v))
    {
        Files = Both, TimelineOrder = 2, Compare = new(CompareRule.HigherIsWorse, 1), Show = new(1),
    });

    /// <summary>Cycles of the exits (transition + handler).</summary>
    public static readonly ReportMetric<double> ExitCycles = Declare(new ReportMetric<double>("exit_cycles", "cycles", Priced(p => p.ExitCycles)));

    /// <summary>Cycles of the page walks.</summary>
    public static readonly ReportMetric<double> WalkCycles = Declare(new ReportMetric<double>("walk_cycles", "cycles", Priced(p => p.WalkCycles)));

    /// <summary>exit_cycles + walk_cycles.</summary>
    public static readonly ReportMetric<double> MmuCycles = Declare(new ReportMetric<double>("mmu_cycles", "cycles", Priced(p => p.MmuCycles))
    {
        Files = Both, TimelineOrder = 5, Compare = new(CompareRule.HigherIsWorse, 2), Show = new(5),
    });

    /// <summary>mmu_cycles minus native's for the same trace and phase.</summary>
    public static readonly ReportMetric<double> OverheadCycles = Declare(new ReportMetric<double>("overhead_cycles", "cycles",
        Derived(c => c.Priced.MmuCycles - c.NativePriced.MmuCycles))
    {
        Compare = new(CompareRule.HigherIsWorse, 3), Show = new(6, ConsoleLabel: "overhead"),
    });

    /// <summary>overhead_cycles / accesses × 1000; 0 when the phase has no accesses.</summary>
    public static readonly ReportMetric<double> OverheadPerKaccess = Declare(new ReportMetric<double>("overhead_per_kaccess", "cycles per 1000 accesses",
        Derived(c => c.Stats.Accesses == 0 ? 0 : (c.Priced.MmuCycles - c.NativePriced.MmuCycles) / c.Stats.Accesses * 1000, "accesses")));

    /// <summary>Instructions the guest retired (SPEC §5): <c>fetch</c> events plus the trace's <c>insns</c>.</summary>
    public static readonly ReportMetric<long> Instructions = Declare(new ReportMetric<long>("instructions", "instructions",
        Count(s => s.Instructions, (s, v) => s.Instructions = v))
    {
        Files = Both, TimelineOrder = 9,
    });

    /// <summary>The guest's own work, priced.</summary>
    public static readonly ReportMetric<double> GuestCycles = Declare(new ReportMetric<double>("guest_cycles", "cycles", Priced(p => p.GuestCycles)));

    /// <summary>guest_cycles + mmu_cycles.</summary>
    public static readonly ReportMetric<double> TotalCycles = Declare(new ReportMetric<double>("total_cycles", "cycles", Priced(p => p.TotalCycles)));

    /// <summary>total_cycles / native's total_cycles; 1.0 for native; never NaN (see <see cref="ReportBuilder.Slowdown"/>).</summary>
    public static readonly ReportMetric<double> Slowdown = Declare(new ReportMetric<double>("slowdown", "×",
        Derived(c => c.IsNative ? 1.0 : ReportBuilder.Slowdown(c.Priced.TotalCycles, c.NativePriced.TotalCycles)))
    {
        Show = new(7, MetricFormat.Ratio),
    });

    /// <summary>Highest number of shadow pages allocated at once within the span.</summary>
    public static readonly ReportMetric<long> ShadowPagesPeak = Declare(new ReportMetric<long>("shadow_pages_peak", "pages",
        Count(s => s.ShadowPagesPeak, (s, v) => s.ShadowPagesPeak = v))
    {
        Files = ReportFiles.Summary, // the pool is the VM's: a peak per vCPU means nothing
        Adds = MetricAggregation.Peak, Compare = new(CompareRule.HigherIsWorse, 5), Show = new(8, ConsoleLabel: "shadow_peak"),
    });

    /// <summary>Shadow pages allocated at the end of a timeline window.</summary>
    public static readonly ReportMetric<long> ShadowPages = Declare(new ReportMetric<long>("shadow_pages", "pages", Count(s => s.ShadowPages, (s, v) => s.ShadowPages = v))
    {
        Files = ReportFiles.Timeline, TimelineOrder = 6, Adds = MetricAggregation.Level,
    });

    /// <summary>Shadow pages created.</summary>
    public static readonly ReportMetric<long> ShadowPagesCreated = Declare(new ReportMetric<long>("shadow_pages_created", "pages",
        Count(s => s.ShadowPagesCreated, (s, v) => s.ShadowPagesCreated = v)));

    /// <summary>Shadow pages evicted.</summary>
    public static readonly ReportMetric<long> ShadowPagesEvicted = Declare(new ReportMetric<long>("shadow_pages_evicted", "pages",
        Count(s => s.ShadowPagesEvicted, (s, v) => s.ShadowPagesEvicted = v)));

    /// <summary>Guest page-table writes the hypervisor emulated.</summary>
    public static readonly ReportMetric<long> EmulatedWrites = Declare(new ReportMetric<long>("emulated_writes", "writes",
        Count(s => s.EmulatedWrites, (s, v) => s.EmulatedWrites = v)));

    /// <summary>Shadowed tables let out of sync.</summary>
    public static readonly ReportMetric<long> Unsyncs = Declare(new ReportMetric<long>("unsyncs", "tables", Count(s => s.Unsyncs, (s, v) => s.Unsyncs = v)));

    /// <summary>Out-of-sync tables brought back in sync.</summary>
    public static readonly ReportMetric<long> Resyncs = Declare(new ReportMetric<long>("resyncs", "tables", Count(s => s.Resyncs, (s, v) => s.Resyncs = v)));

    /// <summary>Guest tables that stopped being shadowed.</summary>
    public static readonly ReportMetric<long> Unshadows = Declare(new ReportMetric<long>("unshadows", "tables", Count(s => s.Unshadows, (s, v) => s.Unshadows = v)));

    /// <summary>Wall time of the replay; a named phase gets the run's time apportioned by its share of the events.</summary>
    public static readonly ReportMetric<double> ReplaySeconds = Declare(new ReportMetric<double>("replay_seconds", "seconds",
        Derived(c => c.Seconds, "replay_seconds", "events"))
    {
        Files = ReportFiles.Summary, Adds = MetricAggregation.Sum,
    });

    /// <summary>events / replay_seconds, 0 when no time was measured (so every phase shows the run's rate).</summary>
    public static readonly ReportMetric<double> EventsPerSecond = Declare(new ReportMetric<double>("events_per_second", "events/s",
        Derived(c => c.Seconds > 0 ? c.Stats.Events / c.Seconds : 0, "replay_seconds", "events"))
    {
        Files = ReportFiles.Summary, Compare = new(CompareRule.Throughput, 6), Show = new(9, MetricFormat.Millions, "Mevents/s"),
    });

    /// <summary>Paging-structure-cache hits, kept so a report can be re-priced exactly.</summary>
    public static readonly ReportMetric<long> PscHits = Declare(new ReportMetric<long>("psc_hits", "hits", Count(s => s.PscHits, (s, v) => s.PscHits = v))
    {
        Files = Both, TimelineOrder = 8,
    });

    /// <summary>Native's walk references in the same trace and phase (its whole MMU cost), for exact re-pricing.</summary>
    public static readonly ReportMetric<long> NativeWalkRefs = Declare(new ReportMetric<long>("native_walk_refs", "references", NativeCount(WalkRefs)));

    /// <summary>Native's paging-structure-cache hits in the same trace and phase.</summary>
    public static readonly ReportMetric<long> NativePscHits = Declare(new ReportMetric<long>("native_psc_hits", "hits", NativeCount(PscHits)));

    /// <summary>Σ of the trace's <c>insns</c> column (the instructions priced at <c>cycles_per_insn</c>), for exact re-pricing.</summary>
    public static readonly ReportMetric<long> Insns = Declare(new ReportMetric<long>("insns", "instructions", Count(s => s.Insns, (s, v) => s.Insns = v))
    {
        Files = Both, TimelineOrder = 10,
    });

    /// <summary>Walk references the L1 data cache served (the memory-hierarchy model, SPEC §4).</summary>
    public static readonly ReportMetric<long> WalkL1 = Declare(new ReportMetric<long>("walk_refs_l1", "references", Count(s => s.WalkL1, (s, v) => s.WalkL1 = v))
    {
        Files = Both, TimelineOrder = 11,
    });

    /// <summary>Walk references the L2 cache served.</summary>
    public static readonly ReportMetric<long> WalkL2 = Declare(new ReportMetric<long>("walk_refs_l2", "references", Count(s => s.WalkL2, (s, v) => s.WalkL2 = v))
    {
        Files = Both, TimelineOrder = 12,
    });

    /// <summary>Walk references the last-level cache served.</summary>
    public static readonly ReportMetric<long> WalkL3 = Declare(new ReportMetric<long>("walk_refs_l3", "references", Count(s => s.WalkL3, (s, v) => s.WalkL3 = v))
    {
        Files = Both, TimelineOrder = 13,
    });

    /// <summary>Walk references memory served.</summary>
    public static readonly ReportMetric<long> WalkMem = Declare(new ReportMetric<long>("walk_refs_mem", "references", Count(s => s.WalkMem, (s, v) => s.WalkMem = v))
    {
        Files = Both, TimelineOrder = 14,
    });

    /// <summary>Guest-physical translations of 2-D walks the nested TLB answered.</summary>
    public static readonly ReportMetric<long> NestedTlbHits = Declare(new ReportMetric<long>("nested_tlb_hits", "hits",
        Count(s => s.NestedTlbHits, (s, v) => s.NestedTlbHits = v))
    {
        Files = Both, TimelineOrder = 15,
    });

    /// <summary>Native's walk references served by L1, for exact re-pricing when native is not reported.</summary>
    public static readonly ReportMetric<long> NativeWalkL1 = Declare(new ReportMetric<long>("native_walk_refs_l1", "references", NativeCount(WalkL1)));

    /// <summary>Native's walk references served by L2.</summary>
    public static readonly ReportMetric<long> NativeWalkL2 = Declare(new ReportMetric<long>("native_walk_refs_l2", "references", NativeCount(WalkL2)));

    /// <summary>Native's walk references served by L3.</summary>
    public static readonly ReportMetric<long> NativeWalkL3 = Declare(new ReportMetric<long>("native_walk_refs_l3", "references", NativeCount(WalkL3)));

    /// <summary>Native's walk references served by memory.</summary>
    public static readonly ReportMetric<long> NativeWalkMem = Declare(new ReportMetric<long>("native_walk_refs_mem", "references", NativeCount(WalkMem)));

    /// <summary>Every declared metric, with the per-file and per-view orders derived from the declarations.</summary>
    public static MetricSet All => s_all.Value;

    private static ReportMetric<T> Declare<T>(ReportMetric<T> metric)
        where T : struct
    {
        (s_declared ??= []).Add(metric);
        return metric;
    }
}
