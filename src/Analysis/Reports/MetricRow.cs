namespace Replay.Analysis.Reports;

/// <summary>
/// A report row with metric columns: its <see cref="Values"/> by metric, through <c>row[ReportMetrics.X]</c> or
/// <see cref="Get{T}"/> for any declared metric, and <see cref="IsRecorded"/> for columns an older report lacks.
/// </summary>
public abstract record MetricRow
{
    private protected MetricRow(MetricLayout layout) => Values = layout.Zeros;

    /// <summary>The row's metric values; a row made in code starts with every metric recorded as 0.</summary>
    public MetricValues Values { get; init; }

    /// <summary>The count <paramref name="metric"/>; 0 when not recorded.</summary>
    public long this[ReportMetric<long> metric] => Values[metric];

    /// <summary>The value of <paramref name="metric"/>; 0 when not recorded.</summary>
    public double this[ReportMetric<double> metric] => Values[metric];

    /// <summary>The value of <paramref name="metric"/>; 0 when not recorded.</summary>
    public T Get<T>(ReportMetric<T> metric)
        where T : struct => Values.Get(metric);

    /// <summary>Whether the row records <paramref name="metric"/> (a report written before it existed does not).</summary>
    public bool IsRecorded(ReportMetric metric) => Values.IsRecorded(metric);
}
