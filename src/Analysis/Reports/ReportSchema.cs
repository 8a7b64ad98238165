namespace Replay.Analysis.Reports;

/// <summary>
/// The report files of SPEC §5 (plus <c>timeline_exits</c>), column by column; the summary's and timeline's metric
/// columns are derived from a <see cref="MetricSet"/>. Writer, reader and export all go through these.
/// </summary>
internal static class ReportSchema
{
    /// <summary><c>summary.parquet</c> with <see cref="ReportMetrics.All"/>.</summary>
    public static ReportTable<SummaryRow> Summary => ReportMetrics.All.SummaryTable;

    /// <summary><c>timeline.parquet</c> with <see cref="ReportMetrics.All"/>.</summary>
    public static ReportTable<TimelineRow> Timeline => ReportMetrics.All.TimelineTable;

    /// <summary>The name columns, then the set's summary metrics.</summary>
    internal static ReportTable<SummaryRow> NewSummary(MetricSet metrics) => new(
        ReportWriter.SummaryFile,
        [
            Column.String<SummaryRow>("trace", r => r.Trace),
            Column.String<SummaryRow>("trace_sha256", r => r.TraceSha256),
            Column.String<SummaryRow>("engine", r => r.Engine),
            Column.String<SummaryRow>("profile", r => r.Profile),
            Column.String<SummaryRow>("phase", r => r.Phase),
            .. metrics.Summary.Select(m => new MetricColumn<SummaryRow>(m)),
        ],
        c => new SummaryRow
        {
            Trace = c.String("trace"), TraceSha256 = c.String("trace_sha256"), Engine = c.String("engine"),
            Profile = c.String("profile"), Phase = c.String("phase"), Values = c.Metrics(metrics.Summary),
        });

    /// <summary>The name and window columns, then the set's timeline metrics.</summary>
    internal static ReportTable<TimelineRow> NewTimeline(MetricSet metrics) => new(
        ReportWriter.TimelineFile,
        [
            Column.String<TimelineRow>("trace", r => r.Trace),
            Column.String<TimelineRow>("engine", r => r.Engine),
            Column.String<TimelineRow>("profile", r => r.Profile),
            Column.Long<TimelineRow>("window", r => r.Window),
            Column.Long<TimelineRow>("first_event", r => r.FirstEvent),
            Column.Long<TimelineRow>("last_event", r => r.LastEvent),
            Column.NullableLong<TimelineRow>("time_ns", r => r.TimeNs),
            .. metrics.Timeline.Select(m => new MetricColumn<TimelineRow>(m)),
        ],
        c => new TimelineRow
        {
            Trace = c.String("trace"), Engine = c.String("engine"), Profile = c.String("profile"),
            Window = c.Long("window"), FirstEvent = c.Long("first_event"), LastEvent = c.Long("last_event"),
            TimeNs = c.NullableLong("time_ns"), Values = c.Metrics(metrics.Timeline),
        });

    /// <summary>The name and vCPU columns, then the set's per-vCPU metrics.</summary>
    internal static ReportTable<VcpuRow> NewVcpus(MetricSet metrics) => new(
        ReportWriter.VcpusFile,
        [
            Column.String<VcpuRow>("trace", r => r.Trace),
            Column.String<VcpuRow>("engine", r => r.Engine),
            Column.String<VcpuRow>("profile", r => r.Profile),
            Column.String<VcpuRow>("phase", r => r.Phase),
            Column.Long<VcpuRow>("vcpu", r => r.Vcpu),
            .. metrics.Vcpus.Select(m => new MetricColumn<VcpuRow>(m)),
        ],
        c => new VcpuRow
        {
            Trace = c.String("trace"), Engine = c.String("engine"), Profile = c.String("profile"), Phase = c.String("phase"),
            Vcpu = c.Int("vcpu"), Values = c.Metrics(metrics.Vcpus),
        });

    /// <summary><c>vcpus.parquet</c> with <see cref="ReportMetrics.All"/>.</summary>
    public static ReportTable<VcpuRow> Vcpus => ReportMetrics.All.VcpusTable;

    public static readonly ReportTable<VcpuExitRow> VcpuExits = ExitTable(
        ReportWriter.VcpuExitsFile,
        [Column.String<VcpuExitRow>("phase", r => r.Phase), Column.Long<VcpuExitRow>("vcpu", r => r.Vcpu)],
        c => new VcpuExitRow(c.String("trace"), c.String("engine"), c.String("profile"), c.String("phase"), c.Int("vcpu"), ReadTally(c)));

    public static readonly ReportTable<ExitRow> Exits = ExitTable(
        ReportWriter.ExitsFile,
        [Column.String<ExitRow>("phase", r => r.Phase)],
        c => new ExitRow(c.String("trace"), c.String("engine"), c.String("profile"), c.String("phase"), ReadTally(c)));

    public static readonly ReportTable<TimelineExitRow> TimelineExits = ExitTable(
        ReportWriter.TimelineExitsFile,
        [Column.Long<TimelineExitRow>("window", r => r.Window)],
        c => new TimelineExitRow(c.String("trace"), c.String("engine"), c.String("profile"), c.Long("window"), ReadTally(c)));

    public static readonly ReportTable<CounterRow> Counters = new(
        ReportWriter.CountersFile,
        [
            Column.String<CounterRow>("trace", r => r.Trace),
            Column.String<CounterRow>("engine", r => r.Engine),
            Column.String<CounterRow>("name", r => r.Name),
            Column.Long<CounterRow>("value", r => r.Value),
        ],
        c => new CounterRow { Trace = c.String("trace"), Engine = c.String("engine"), Name = c.String("name"), Value = c.Long("value") });

    public static readonly ReportTable<CompareRow> Compare = new(
        ReportWriter.CompareFile,
        [
            Column.String<CompareRow>("trace", r => r.Trace),
            Column.String<CompareRow>("engine", r => r.Engine),
            Column.String<CompareRow>("profile", r => r.Profile),
            Column.String<CompareRow>("phase", r => r.Phase),
            Column.AddedLong<CompareRow>("vcpu", r => r.Vcpu),
            Column.String<CompareRow>("metric", r => r.Metric),
            Column.Double<CompareRow>("base", r => r.Base),
            Column.Double<CompareRow>("current", r => r.Current),
            Column.Double<CompareRow>("delta", r => r.Delta),
            Column.Double<CompareRow>("delta_pct", r => r.DeltaPct),
            Column.Double<CompareRow>("limit_pct", r => r.LimitPct),
            Column.String<CompareRow>("status", r => r.Status),
        ],
        c => new CompareRow
        {
            Trace = c.String("trace"), Engine = c.String("engine"), Profile = c.String("profile"), Phase = c.String("phase"),
            Vcpu = c.Has("vcpu") ? c.NullableLong("vcpu") : null, Metric = c.String("metric"), Base = c.Double("base"), Current = c.Double("current"), Delta = c.Double("delta"),
            DeltaPct = c.Double("delta_pct"), LimitPct = c.Double("limit_pct"), Status = c.String("status"),
        });

    /// <summary>
    /// A long-form exit table (SPEC §5): trace, engine and profile, then the table's own <paramref name="keys"/>, then
    /// the exit kind's columns every such table shares.
    /// </summary>
    private static ReportTable<TRow> ExitTable<TRow>(string fileName, ReportColumn<TRow>[] keys, Func<RowCursor, TRow> create)
        where TRow : ExitKindRow => new(
        fileName,
        [
            Column.String<TRow>("trace", r => r.Trace),
            Column.String<TRow>("engine", r => r.Engine),
            Column.String<TRow>("profile", r => r.Profile),
            .. keys,
            Column.String<TRow>("reason", r => r.Reason),
            Column.Int<TRow>("reason_code", r => r.ReasonCode),
            Column.String<TRow>("handler", r => r.Handler),
            Column.Long<TRow>("count", r => r.Count),
            Column.Long<TRow>("units", r => r.Units),
            Column.Double<TRow>("cycles", r => r.Cycles),
        ],
        create);

    /// <summary>The exit-kind columns <see cref="ExitTable"/> writes after the keys.</summary>
    private static ExitTally ReadTally(RowCursor c) =>
        new(c.String("reason"), c.Int("reason_code"), c.String("handler"), c.Long("count"), c.Long("units"), c.Double("cycles"));
}
