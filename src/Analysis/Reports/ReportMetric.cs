using System.Runtime.CompilerServices;
using Replay.Engines.Contract;

namespace Replay.Analysis.Reports;

/// <summary>
/// One report metric, declared once in <see cref="ReportMetrics"/>: column name and type, unit, files, how it adds
/// across phases and windows, how <c>reprice</c> obtains it, how <c>compare</c> judges it and whether the console
/// and HTML summaries show it. The schema, the builder, reprice, compare and both summaries read these
/// declarations; none keeps a list of metrics of its own. A metric is identified by its instance.
/// </summary>
public abstract class ReportMetric
{
    private protected ReportMetric(string name, string unit, RepriceRule reprice)
    {
        if (name.Length == 0 || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
        {
            throw new ArgumentException($"Metric name '{name}' is not snake_case (SPEC §5).", nameof(name));
        }

        Name = name;
        Unit = unit;
        Reprice = reprice;
        Adds = reprice is RepriceRule.Restored or RepriceRule.NativeCount ? MetricAggregation.Sum : MetricAggregation.Recomputed;
    }

    /// <summary>The column name (snake_case, unique among a file's columns).</summary>
    public string Name { get; }

    /// <summary>What one unit of the value is (<c>exits</c>, <c>cycles</c>, <c>pages</c>, <c>×</c>, …), for docs and listings.</summary>
    public string Unit { get; }

    /// <summary><c>long</c> (an int64 column: counts) or <c>double</c> (cycles, ratios, rates, seconds).</summary>
    public abstract Type ValueType { get; }

    /// <summary>The files it is a column of; <see cref="ReportFiles.Summary"/> and <see cref="ReportFiles.Vcpus"/> unless declared otherwise.</summary>
    public ReportFiles Files { get; init; } = ReportFiles.Summary | ReportFiles.Vcpus;

    /// <summary>Position among the timeline's metric columns (lower first; undeclared ones follow in declaration order).</summary>
    public int TimelineOrder { get; init; } = int.MaxValue;

    /// <summary>How it adds across phases and windows: counts sum unless declared a peak, a level or recomputed.</summary>
    public MetricAggregation Adds { get; init; }

    /// <summary>How <c>reprice</c> obtains it.</summary>
    public RepriceRule Reprice { get; }

    /// <summary>How <c>compare</c> judges it; null: not compared.</summary>
    public MetricCompare? Compare { get; init; }

    /// <summary>How the console and HTML summary tables show it; null: not shown (it is still in the files).</summary>
    public MetricDisplay? Show { get; init; }

    /// <summary>For a derived metric, the columns it is computed from: when one is not recorded, neither is this one.</summary>
    public IReadOnlyList<string> Reads { get; private protected init; } = [];

    /// <summary>For a restored count: reads it from an engine's stats (the builder's source).</summary>
    internal Func<EngineStats, long>? Read { get; private protected init; }

    /// <summary>For a restored count: writes it back into stats rebuilt from a report (<c>reprice</c>).</summary>
    internal Action<EngineStats, long>? Restore { get; private protected init; }

    /// <summary>For a native count: the count of native's run it carries.</summary>
    internal ReportMetric<long>? NativeOf { get; private protected init; }

    /// <summary>The value for one row, as its raw 64 bits (a long, or a double's bits).</summary>
    internal abstract long ComputeRaw(MetricInputs inputs);

    /// <summary>A raw value as a double (what <c>compare</c> works in).</summary>
    internal abstract double ToDouble(long raw);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>A report metric whose values are <typeparamref name="T"/>: <c>long</c> or <c>double</c>.</summary>
/// <typeparam name="T"><c>long</c> for counts (int64 columns), <c>double</c> for cycles and ratios.</typeparam>
public sealed class ReportMetric<T> : ReportMetric
    where T : struct
{
    private readonly Func<MetricInputs, T> _compute;

    internal ReportMetric(string name, string unit, MetricSource<T> source)
        : base(name, unit, source.Rule)
    {
        if (typeof(T) != typeof(long) && typeof(T) != typeof(double))
        {
            throw new ArgumentException($"Metric '{name}': report values are long or double, not {typeof(T).Name}.", nameof(source));
        }

        _compute = source.Compute;
        Reads = source.Reads;
        Read = source.Read;
        Restore = source.Restore;
        NativeOf = source.NativeOf;
    }

    /// <inheritdoc/>
    public override Type ValueType => typeof(T);

    internal override long ComputeRaw(MetricInputs inputs) => ToRaw(_compute(inputs));

    internal override double ToDouble(long raw) => typeof(T) == typeof(long) ? raw : BitConverter.Int64BitsToDouble(raw);

    internal static long ToRaw(T value) =>
        typeof(T) == typeof(long) ? Unsafe.As<T, long>(ref value) : BitConverter.DoubleToInt64Bits(Unsafe.As<T, double>(ref value));

    internal static T FromRaw(long raw)
    {
        if (typeof(T) == typeof(long))
        {
            return Unsafe.As<long, T>(ref raw);
        }

        double d = BitConverter.Int64BitsToDouble(raw);
        return Unsafe.As<double, T>(ref d);
    }
}
