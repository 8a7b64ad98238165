using System.Collections;

namespace Replay.Analysis.Reports;

/// <summary>The metric columns of one report file, in column order; a row's <see cref="MetricValues"/> are indexed by it.</summary>
public sealed class MetricLayout : IReadOnlyList<ReportMetric>
{
    private readonly ReportMetric[] _metrics;
    private readonly Dictionary<ReportMetric, int> _index = [];

    internal MetricLayout(MetricSet set, ReportFiles file, IEnumerable<ReportMetric> metrics)
    {
        Set = set;
        File = file;
        _metrics = metrics.ToArray();
        for (int i = 0; i < _metrics.Length; i++)
        {
            _index.Add(_metrics[i], i);
        }

        Zeros = new MetricValues(this, new long[_metrics.Length], Enumerable.Repeat(true, _metrics.Length).ToArray());
    }

    /// <summary>The set this layout was derived from.</summary>
    public MetricSet Set { get; }

    /// <summary>The file it lays out.</summary>
    public ReportFiles File { get; }

    /// <summary>How many metric columns.</summary>
    public int Count => _metrics.Length;

    /// <summary>The metric of column <paramref name="index"/> (0 = the first metric column).</summary>
    public ReportMetric this[int index] => _metrics[index];

    /// <summary>Every value recorded and zero: what a row made in code starts from.</summary>
    internal MetricValues Zeros { get; }

    /// <summary>The position of <paramref name="metric"/>, or −1 when it is not a column of this file.</summary>
    public int IndexOf(ReportMetric metric) => _index.GetValueOrDefault(metric, -1);

    /// <summary>Whether <paramref name="metric"/> is a column of this file.</summary>
    public bool Contains(ReportMetric metric) => _index.ContainsKey(metric);

    /// <summary>Every metric of the layout computed from <paramref name="inputs"/>, all recorded.</summary>
    internal MetricValues Compute(MetricInputs inputs)
    {
        var raw = new long[_metrics.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            raw[i] = _metrics[i].ComputeRaw(inputs);
        }

        return new MetricValues(this, raw, Enumerable.Repeat(true, raw.Length).ToArray());
    }

    /// <inheritdoc/>
    public IEnumerator<ReportMetric> GetEnumerator() => ((IEnumerable<ReportMetric>)_metrics).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
