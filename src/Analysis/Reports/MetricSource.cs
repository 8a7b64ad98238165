using Replay.Analysis.Costs;
using Replay.Engines.Contract;

namespace Replay.Analysis.Reports;

/// <summary>Where a metric's value comes from when a report is built, and so how <c>reprice</c> obtains it again.</summary>
internal sealed class MetricSource<T>
    where T : struct
{
    public required RepriceRule Rule { get; init; }

    public required Func<MetricInputs, T> Compute { get; init; }

    public Func<EngineStats, long>? Read { get; init; }

    public Action<EngineStats, long>? Restore { get; init; }

    public ReportMetric<long>? NativeOf { get; init; }

    public IReadOnlyList<string> Reads { get; init; } = [];
}

/// <summary>The kinds of <see cref="MetricSource{T}"/> a declaration picks from.</summary>
internal static class MetricSources
{
    /// <summary>
    /// A count kept in <see cref="EngineStats"/>: <paramref name="get"/> reads it for the report, <paramref name="set"/>
    /// restores it when <c>reprice</c> rebuilds the stats. Whether exact pricing needs it is found by asking
    /// <c>Pricing</c> (see <see cref="PricingNeeds"/>), not declared.
    /// </summary>
    public static MetricSource<long> Count(Func<EngineStats, long> get, Action<EngineStats, long> set) => new()
    {
        Rule = RepriceRule.Restored, Compute = c => get(c.Stats), Read = get, Restore = set,
    };

    /// <summary>Cycles from <see cref="Pricing.Price"/>'s result.</summary>
    public static MetricSource<double> Priced(Func<PricedStats, double> select) => new()
    {
        Rule = RepriceRule.Priced, Compute = c => select(c.Priced),
    };

    /// <summary>Computed from the row's stats, prices, native's prices and time; <paramref name="reads"/> names the report columns it needs recorded.</summary>
    public static MetricSource<T> Derived<T>(Func<MetricInputs, T> compute, params string[] reads)
        where T : struct => new()
    {
        Rule = RepriceRule.Derived, Compute = compute, Reads = reads,
    };

    /// <summary>Native's value of count <paramref name="of"/> in the same trace and phase.</summary>
    public static MetricSource<long> NativeCount(ReportMetric<long> of) => new()
    {
        Rule = RepriceRule.NativeCount,
        Compute = c => (of.Read ?? throw new InvalidOperationException($"'{of.Name}' is not a count of EngineStats."))(c.NativeStats),
        NativeOf = of,
    };
}

/// <summary>
/// What one report row's metrics are computed from. A summary row: an engine's counts in one phase, priced, against
/// native's in the same phase (<paramref name="nativeStats"/> and <paramref name="nativePriced"/>).
/// </summary>
internal sealed class MetricInputs(EngineStats stats, PricedStats priced, EngineStats? nativeStats, PricedStats nativePriced, bool isNative, double seconds)
{
    /// <summary>A timeline row: one window's counts, priced; a window has no native baseline and no time of its own.</summary>
    public MetricInputs(EngineStats stats, PricedStats priced)
        : this(stats, priced, null, default, false, 0)
    {
    }

    public EngineStats Stats => stats;

    public PricedStats Priced => priced;

    public bool IsNative => isNative;

    /// <summary>Replay time of the row's span (a named phase gets the run's time apportioned by its events).</summary>
    public double Seconds => seconds;

    public EngineStats NativeStats => nativeStats ?? throw NoNative();

    public PricedStats NativePriced => nativeStats is null ? throw NoNative() : nativePriced;

    private static InvalidOperationException NoNative() =>
        new("A timeline row has no native baseline: a timeline metric cannot be computed from native's values.");
}
