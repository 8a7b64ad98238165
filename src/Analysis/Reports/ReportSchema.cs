namespace Replay.Analysis.Reports;

/// <summary>The report files of SPEC §5 (plus <c>timeline_exits</c>), column by column. Writer and reader both go through these.</summary>
internal static class ReportSchema
{
    public static readonly ReportTable<SummaryRow> Summary = new(
        ReportWriter.SummaryFile,
        [
            Column.String<SummaryRow>("trace", r => r.Trace),
            Column.String<SummaryRow>("trace_sha256", r => r.TraceSha256),
            Column.String<SummaryRow>("engine", r => r.Engine),
            Column.String<SummaryRow>("profile", r => r.Profile),
            Column.String<SummaryRow>("phase", r => r.Phase),
            Column.Of<SummaryRow, long>("events", r => r.Events),
            Column.Of<SummaryRow, long>("accesses", r => r.Accesses),
            Column.Of<SummaryRow, long>("cr3_loads", r => r.Cr3Loads),
            Column.Of<SummaryRow, long>("pt_writes", r => r.PtWrites),
            Column.Of<SummaryRow, long>("invlpgs", r => r.Invlpgs),
            Column.Of<SummaryRow, long>("flushes", r => r.Flushes),
            Column.Of<SummaryRow, long>("guest_faults", r => r.GuestFaults),
            Column.Of<SummaryRow, long>("trace_warnings", r => r.TraceWarnings),
            Column.Of<SummaryRow, long>("tlb_misses", r => r.TlbMisses),
            Column.Of<SummaryRow, long>("walk_refs", r => r.WalkRefs),
            Column.Of<SummaryRow, long>("exits", r => r.Exits),
            Column.Of<SummaryRow, double>("exit_cycles", r => r.ExitCycles),
            Column.Of<SummaryRow, double>("walk_cycles", r => r.WalkCycles),
            Column.Of<SummaryRow, double>("mmu_cycles", r => r.MmuCycles),
            Column.Of<SummaryRow, double>("overhead_cycles", r => r.OverheadCycles),
            Column.Of<SummaryRow, double>("overhead_per_kaccess", r => r.OverheadPerKaccess),
            Column.Of<SummaryRow, double>("guest_cycles", r => r.GuestCycles),
            Column.Of<SummaryRow, double>("total_cycles", r => r.TotalCycles),
            Column.Of<SummaryRow, double>("slowdown", r => r.Slowdown),
            Column.Of<SummaryRow, long>("shadow_pages_peak", r => r.ShadowPagesPeak),
            Column.Of<SummaryRow, long>("shadow_pages_created", r => r.ShadowPagesCreated),
            Column.Of<SummaryRow, long>("shadow_pages_evicted", r => r.ShadowPagesEvicted),
            Column.Of<SummaryRow, long>("emulated_writes", r => r.EmulatedWrites),
            Column.Of<SummaryRow, long>("unsyncs", r => r.Unsyncs),
            Column.Of<SummaryRow, long>("resyncs", r => r.Resyncs),
            Column.Of<SummaryRow, long>("unshadows", r => r.Unshadows),
            Column.Of<SummaryRow, double>("replay_seconds", r => r.ReplaySeconds),
            Column.Of<SummaryRow, double>("events_per_second", r => r.EventsPerSecond),
            Column.Of<SummaryRow, long>("psc_hits", r => r.PscHits),
            Column.Of<SummaryRow, long>("native_walk_refs", r => r.NativeWalkRefs),
            Column.Of<SummaryRow, long>("native_psc_hits", r => r.NativePscHits),
        ],
        c => new SummaryRow
        {
            Trace = c.String("trace"), TraceSha256 = c.String("trace_sha256"), Engine = c.String("engine"),
            Profile = c.String("profile"), Phase = c.String("phase"),
            Events = c.Long("events"), Accesses = c.Long("accesses"), Cr3Loads = c.Long("cr3_loads"),
            PtWrites = c.Long("pt_writes"), Invlpgs = c.Long("invlpgs"), Flushes = c.Long("flushes"),
            GuestFaults = c.Long("guest_faults"), TraceWarnings = c.Long("trace_warnings"), TlbMisses = c.Long("tlb_misses"),
            WalkRefs = c.Long("walk_refs"), Exits = c.Long("exits"),
            ExitCycles = c.Double("exit_cycles"), WalkCycles = c.Double("walk_cycles"), MmuCycles = c.Double("mmu_cycles"),
            OverheadCycles = c.Double("overhead_cycles"), OverheadPerKaccess = c.Double("overhead_per_kaccess"),
            GuestCycles = c.Double("guest_cycles"), TotalCycles = c.Double("total_cycles"), Slowdown = c.Double("slowdown"),
            ShadowPagesPeak = c.Long("shadow_pages_peak"), ShadowPagesCreated = c.Long("shadow_pages_created"),
            ShadowPagesEvicted = c.Long("shadow_pages_evicted"), EmulatedWrites = c.Long("emulated_writes"),
            Unsyncs = c.Long("unsyncs"), Resyncs = c.Long("resyncs"), Unshadows = c.Long("unshadows"),
            ReplaySeconds = c.Double("replay_seconds"), EventsPerSecond = c.Double("events_per_second"),
            PscHits = c.Long("psc_hits"), NativeWalkRefs = c.Long("native_walk_refs"), NativePscHits = c.Long("native_psc_hits"),
        });

    public static readonly ReportTable<ExitRow> Exits = new(
        ReportWriter.ExitsFile,
        [
            Column.String<ExitRow>("trace", r => r.Trace),
            Column.String<ExitRow>("engine", r => r.Engine),
            Column.String<ExitRow>("profile", r => r.Profile),
            Column.String<ExitRow>("phase", r => r.Phase),
            Column.String<ExitRow>("reason", r => r.Reason),
            Column.Of<ExitRow, int>("reason_code", r => r.ReasonCode),
            Column.String<ExitRow>("handler", r => r.Handler),
            Column.Of<ExitRow, long>("count", r => r.Count),
            Column.Of<ExitRow, long>("units", r => r.Units),
            Column.Of<ExitRow, double>("cycles", r => r.Cycles),
        ],
        c => new ExitRow
        {
            Trace = c.String("trace"), Engine = c.String("engine"), Profile = c.String("profile"), Phase = c.String("phase"),
            Reason = c.String("reason"), ReasonCode = c.Int("reason_code"), Handler = c.String("handler"),
            Count = c.Long("count"), Units = c.Long("units"), Cycles = c.Double("cycles"),
        });

    public static readonly ReportTable<TimelineRow> Timeline = new(
        ReportWriter.TimelineFile,
        [
            Column.String<TimelineRow>("trace", r => r.Trace),
            Column.String<TimelineRow>("engine", r => r.Engine),
            Column.String<TimelineRow>("profile", r => r.Profile),
            Column.Of<TimelineRow, long>("window", r => r.Window),
            Column.Of<TimelineRow, long>("first_event", r => r.FirstEvent),
            Column.Of<TimelineRow, long>("last_event", r => r.LastEvent),
            Column.Nullable<TimelineRow, long>("time_ns", r => r.TimeNs),
            Column.Of<TimelineRow, long>("accesses", r => r.Accesses),
            Column.Of<TimelineRow, long>("exits", r => r.Exits),
            Column.Of<TimelineRow, long>("guest_faults", r => r.GuestFaults),
            Column.Of<TimelineRow, long>("tlb_misses", r => r.TlbMisses),
            Column.Of<TimelineRow, double>("mmu_cycles", r => r.MmuCycles),
            Column.Of<TimelineRow, long>("shadow_pages", r => r.ShadowPages),
            Column.Of<TimelineRow, long>("walk_refs", r => r.WalkRefs),
            Column.Of<TimelineRow, long>("psc_hits", r => r.PscHits),
        ],
        c => new TimelineRow
        {
            Trace = c.String("trace"), Engine = c.String("engine"), Profile = c.String("profile"),
            Window = c.Long("window"), FirstEvent = c.Long("first_event"), LastEvent = c.Long("last_event"),
            TimeNs = c.NullableLong("time_ns"), Accesses = c.Long("accesses"), Exits = c.Long("exits"),
            GuestFaults = c.Long("guest_faults"), TlbMisses = c.Long("tlb_misses"), MmuCycles = c.Double("mmu_cycles"),
            ShadowPages = c.Long("shadow_pages"), WalkRefs = c.Long("walk_refs"), PscHits = c.Long("psc_hits"),
        });

    public static readonly ReportTable<TimelineExitRow> TimelineExits = new(
        ReportWriter.TimelineExitsFile,
        [
            Column.String<TimelineExitRow>("trace", r => r.Trace),
            Column.String<TimelineExitRow>("engine", r => r.Engine),
            Column.String<TimelineExitRow>("profile", r => r.Profile),
            Column.Of<TimelineExitRow, long>("window", r => r.Window),
            Column.String<TimelineExitRow>("reason", r => r.Reason),
            Column.Of<TimelineExitRow, int>("reason_code", r => r.ReasonCode),
            Column.String<TimelineExitRow>("handler", r => r.Handler),
            Column.Of<TimelineExitRow, long>("count", r => r.Count),
            Column.Of<TimelineExitRow, long>("units", r => r.Units),
            Column.Of<TimelineExitRow, double>("cycles", r => r.Cycles),
        ],
        c => new TimelineExitRow
        {
            Trace = c.String("trace"), Engine = c.String("engine"), Profile = c.String("profile"), Window = c.Long("window"),
            Reason = c.String("reason"), ReasonCode = c.Int("reason_code"), Handler = c.String("handler"),
            Count = c.Long("count"), Units = c.Long("units"), Cycles = c.Double("cycles"),
        });

    public static readonly ReportTable<CounterRow> Counters = new(
        ReportWriter.CountersFile,
        [
            Column.String<CounterRow>("trace", r => r.Trace),
            Column.String<CounterRow>("engine", r => r.Engine),
            Column.String<CounterRow>("name", r => r.Name),
            Column.Of<CounterRow, long>("value", r => r.Value),
        ],
        c => new CounterRow { Trace = c.String("trace"), Engine = c.String("engine"), Name = c.String("name"), Value = c.Long("value") });

    public static readonly ReportTable<CompareRow> Compare = new(
        ReportWriter.CompareFile,
        [
            Column.String<CompareRow>("trace", r => r.Trace),
            Column.String<CompareRow>("engine", r => r.Engine),
            Column.String<CompareRow>("profile", r => r.Profile),
            Column.String<CompareRow>("phase", r => r.Phase),
            Column.String<CompareRow>("metric", r => r.Metric),
            Column.Of<CompareRow, double>("base", r => r.Base),
            Column.Of<CompareRow, double>("current", r => r.Current),
            Column.Of<CompareRow, double>("delta", r => r.Delta),
            Column.Of<CompareRow, double>("delta_pct", r => r.DeltaPct),
            Column.Of<CompareRow, double>("limit_pct", r => r.LimitPct),
            Column.String<CompareRow>("status", r => r.Status),
        ],
        c => new CompareRow
        {
            Trace = c.String("trace"), Engine = c.String("engine"), Profile = c.String("profile"), Phase = c.String("phase"),
            Metric = c.String("metric"), Base = c.Double("base"), Current = c.Double("current"), Delta = c.Double("delta"),
            DeltaPct = c.Double("delta_pct"), LimitPct = c.Double("limit_pct"), Status = c.String("status"),
        });
}
