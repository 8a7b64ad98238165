namespace Replay.Analysis.Reports;

/// <summary>
/// A set of declared metrics and everything derived from the declarations: each file's metric columns in order, the
/// metrics <c>compare</c> checks and the ones the summaries show. <see cref="ReportMetrics.All"/> is the one the
/// program uses; tests extend it with <see cref="With"/>.
/// </summary>
public sealed class MetricSet
{
    private readonly Dictionary<string, ReportMetric> _byName = new(StringComparer.Ordinal);
    private ReportTable<SummaryRow>? _summaryTable;
    private ReportTable<TimelineRow>? _timelineTable;
    private ReportTable<VcpuRow>? _vcpusTable;

    internal MetricSet(IEnumerable<ReportMetric> declared)
    {
        Declared = declared.ToList();
        foreach (var m in Declared)
        {
            if (m.Files == ReportFiles.None || !_byName.TryAdd(m.Name, m))
            {
                throw new ArgumentException(m.Files == ReportFiles.None ? $"Metric '{m.Name}' is in no report file." : $"Two metrics are named '{m.Name}'.", nameof(declared));
            }
        }

        foreach (var m in Declared)
        {
            if (m.Reads.FirstOrDefault(r => !_byName.ContainsKey(r)) is { } unknown)
            {
                throw new ArgumentException($"Metric '{m.Name}' reads '{unknown}', which is not declared.", nameof(declared));
            }
        }

        Summary = new MetricLayout(this, ReportFiles.Summary, Declared.Where(m => m.Files.HasFlag(ReportFiles.Summary)));
        Timeline = new MetricLayout(this, ReportFiles.Timeline, Ordered(Declared.Where(m => m.Files.HasFlag(ReportFiles.Timeline)), m => m.TimelineOrder));
        Vcpus = new MetricLayout(this, ReportFiles.Vcpus, Declared.Where(m => m.Files.HasFlag(ReportFiles.Vcpus)));
        Compared = Ordered(Declared.Where(m => m.Compare is not null && Summary.Contains(m)), m => m.Compare!.Order);
        Shown = Ordered(Declared.Where(m => m.Show is not null && Summary.Contains(m)), m => m.Show!.Order);
    }

    /// <summary>Every metric, in declaration order.</summary>
    public IReadOnlyList<ReportMetric> Declared { get; }

    /// <summary><c>summary.parquet</c>'s metric columns, in declaration order (after its name columns).</summary>
    public MetricLayout Summary { get; }

    /// <summary><c>timeline.parquet</c>'s metric columns, by <see cref="ReportMetric.TimelineOrder"/> (after its window columns).</summary>
    public MetricLayout Timeline { get; }

    /// <summary><c>vcpus.parquet</c>'s metric columns, in declaration order (after its name and vCPU columns).</summary>
    public MetricLayout Vcpus { get; }

    /// <summary>The summary metrics <c>compare</c> checks, in the order it lists them.</summary>
    public IReadOnlyList<ReportMetric> Compared { get; }

    /// <summary>The summary metrics the console and HTML summary tables show, in column order.</summary>
    public IReadOnlyList<ReportMetric> Shown { get; }

    /// <summary>The metric named <paramref name="name"/>, or null.</summary>
    public ReportMetric? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>These metrics and <paramref name="extra"/> after them (the hook tests add a metric through).</summary>
    internal MetricSet With(params ReportMetric[] extra) => new(Declared.Concat(extra));

    /// <summary><c>summary.parquet</c> laid out for this set (built once; a race builds an equal one).</summary>
    internal ReportTable<SummaryRow> SummaryTable => _summaryTable ??= ReportSchema.NewSummary(this);

    /// <summary><c>timeline.parquet</c> laid out for this set.</summary>
    internal ReportTable<TimelineRow> TimelineTable => _timelineTable ??= ReportSchema.NewTimeline(this);

    /// <summary><c>vcpus.parquet</c> laid out for this set.</summary>
    internal ReportTable<VcpuRow> VcpusTable => _vcpusTable ??= ReportSchema.NewVcpus(this);

    /// <summary>
    /// <paramref name="missing"/> and every derived metric that reads one of them, directly or through another: what
    /// a report rebuilt from rows lacking <paramref name="missing"/> cannot record either.
    /// </summary>
    internal HashSet<ReportMetric> Affected(IEnumerable<ReportMetric> missing)
    {
        var affected = missing.ToHashSet();
        bool grew = affected.Count > 0;
        while (grew)
        {
            grew = false;
            foreach (var m in Declared.Where(m => !affected.Contains(m) && m.Reads.Any(r => affected.Contains(_byName[r]))))
            {
                grew |= affected.Add(m);
            }
        }

        return affected;
    }

    // OrderBy is stable: metrics with equal (or no) order keep their declaration order.
    private static List<ReportMetric> Ordered(IEnumerable<ReportMetric> metrics, Func<ReportMetric, int> order) => metrics.OrderBy(order).ToList();
}
