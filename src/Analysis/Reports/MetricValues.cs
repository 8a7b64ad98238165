using System.Globalization;

namespace Replay.Analysis.Reports;

/// <summary>
/// The metric values of one report row, by <see cref="MetricLayout"/> position, each either recorded or not (a column
/// an older report, or a rewriting tool, left out; or a null in an OPTIONAL column). Immutable: <see cref="With{T}"/>
/// returns a copy. Two are equal when they hold the same metrics with the same recorded values.
/// </summary>
public sealed class MetricValues : IEquatable<MetricValues>
{
    private readonly long[] _raw;
    private readonly bool[] _recorded;

    internal MetricValues(MetricLayout layout, long[] raw, bool[] recorded)
    {
        Layout = layout;
        _raw = raw;
        _recorded = recorded;
    }

    /// <summary>The file's metric columns these values are laid out by.</summary>
    public MetricLayout Layout { get; }

    /// <summary>The count <paramref name="metric"/>; 0 when not recorded (see <see cref="IsRecorded"/>).</summary>
    public long this[ReportMetric<long> metric] => Get(metric);

    /// <summary>The value of <paramref name="metric"/>; 0 when not recorded (see <see cref="IsRecorded"/>).</summary>
    public double this[ReportMetric<double> metric] => Get(metric);

    /// <summary>The value of <paramref name="metric"/>, 0 when not recorded; throws when it is not a column of this file.</summary>
    public T Get<T>(ReportMetric<T> metric)
        where T : struct
    {
        int i = Index(metric);
        return _recorded[i] ? ReportMetric<T>.FromRaw(_raw[i]) : default;
    }

    /// <summary>Whether the row records <paramref name="metric"/> (false too when it is not a column of this file).</summary>
    public bool IsRecorded(ReportMetric metric) => Layout.IndexOf(metric) is int i and >= 0 && _recorded[i];

    /// <summary>The value as a double when recorded, else null (what <c>compare</c> works in).</summary>
    public double? AsDouble(ReportMetric metric) =>
        Layout.IndexOf(metric) is int i and >= 0 && _recorded[i] ? metric.ToDouble(_raw[i]) : null;

    /// <summary>A copy with <paramref name="metric"/> recorded as <paramref name="value"/>.</summary>
    public MetricValues With<T>(ReportMetric<T> metric, T value)
        where T : struct
    {
        int i = Index(metric);
        var raw = (long[])_raw.Clone();
        var recorded = (bool[])_recorded.Clone();
        raw[i] = ReportMetric<T>.ToRaw(value);
        recorded[i] = true;
        return new MetricValues(Layout, raw, recorded);
    }

    /// <summary>A copy in which <paramref name="metrics"/> are not recorded (a measured report records only what it measured).</summary>
    public MetricValues WithoutRecorded(IEnumerable<ReportMetric> metrics)
    {
        var raw = (long[])_raw.Clone();
        var recorded = (bool[])_recorded.Clone();
        foreach (int i in metrics.Select(Layout.IndexOf).Where(i => i >= 0))
        {
            raw[i] = 0;
            recorded[i] = false;
        }

        return new MetricValues(Layout, raw, recorded);
    }

    /// <summary>The metrics of the layout this row does not record.</summary>
    internal IEnumerable<ReportMetric> NotRecorded() => Layout.Where((_, i) => !_recorded[i]);

    /// <summary>The stored 64 bits of <paramref name="metric"/> (0 when not recorded).</summary>
    internal long Raw(ReportMetric metric) => _raw[Index(metric)];

    /// <inheritdoc/>
    public bool Equals(MetricValues? other)
    {
        if (other is null || (!ReferenceEquals(Layout, other.Layout) && !Layout.SequenceEqual(other.Layout)))
        {
            return false;
        }

        for (int i = 0; i < _raw.Length; i++)
        {
            if (_recorded[i] != other._recorded[i] || (_recorded[i] && !SameValue(Layout[i], _raw[i], other._raw[i])))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as MetricValues);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        for (int i = 0; i < _raw.Length; i++)
        {
            h.Add(!_recorded[i] ? 0L : Layout[i].ValueType == typeof(long) ? _raw[i] : BitConverter.Int64BitsToDouble(_raw[i]).GetHashCode());
        }

        return h.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join(", ", Layout.Select((m, i) =>
        m.Name + " = " + (!_recorded[i] ? "(not recorded)" : m.ValueType == typeof(long) ? _raw[i].ToString(CultureInfo.InvariantCulture)
            : BitConverter.Int64BitsToDouble(_raw[i]).ToString("R", CultureInfo.InvariantCulture))));

    // Doubles compare as double.Equals does (NaN equals NaN, 0.0 equals -0.0), as the record properties before them did.
    private static bool SameValue(ReportMetric metric, long a, long b) =>
        metric.ValueType == typeof(long) ? a == b : BitConverter.Int64BitsToDouble(a).Equals(BitConverter.Int64BitsToDouble(b));

    private int Index(ReportMetric metric)
    {
        int i = Layout.IndexOf(metric);
        return i >= 0 ? i : throw new ArgumentException($"'{metric.Name}' is not a column of the {Layout.File.ToString().ToLowerInvariant()} file.", nameof(metric));
    }
}
