namespace Replay.Analysis.Reports;

/// <summary>The report files a metric is a column of.</summary>
[Flags]
public enum ReportFiles
{
    /// <summary>In no file (not a valid declaration; the default of nothing).</summary>
    None = 0,

    /// <summary><c>summary.parquet</c>: one row per (trace, engine, profile, phase).</summary>
    Summary = 1,

    /// <summary><c>timeline.parquet</c>: one row per window of events per engine.</summary>
    Timeline = 2,

    /// <summary>
    /// <c>vcpus.parquet</c>: one row per (trace, engine, profile, phase, vCPU), the counts attributed to the vCPU whose
    /// events made them (xenalyze's and <c>perf kvm stat</c>'s per-vCPU view). A summary metric is one unless declared
    /// otherwise: VM-wide levels (the shadow pool's peak) and the run's time are not.
    /// </summary>
    Vcpus = 4,
}

/// <summary>How a metric's value over a span (a phase, a window) relates to the values of its parts.</summary>
public enum MetricAggregation
{
    /// <summary>A count: the span's value is the sum of its parts' (<c>EngineStats</c> adds and subtracts it).</summary>
    Sum,

    /// <summary>The highest level reached within the span.</summary>
    Peak,

    /// <summary>A level at the span's end: the later part's value replaces the earlier one.</summary>
    Level,

    /// <summary>Never added: priced or derived again from the span's own counts.</summary>
    Recomputed,
}

/// <summary>How <c>reprice</c> obtains a metric from a report without replaying.</summary>
public enum RepriceRule
{
    /// <summary>A count the builder copies from <c>EngineStats</c> and <c>reprice</c> restores into it.</summary>
    Restored,

    /// <summary>Cycles that <c>Pricing.Price</c> computes again from the restored counts under the new profile.</summary>
    Priced,

    /// <summary>Computed again from the row's other values (a difference against native, a ratio, a rate).</summary>
    Derived,

    /// <summary>Native's count in the same trace and phase, restored into native's stats when native is not reported.</summary>
    NativeCount,
}

/// <summary>How <c>compare</c> judges a metric.</summary>
public enum CompareRule
{
    /// <summary>Deterministic (a count or cycles): any rise beyond <c>--max-increase</c> is a regression.</summary>
    HigherIsWorse,

    /// <summary>A rate measured on the wall clock: a drop beyond <c>--max-slowdown</c> is a regression.</summary>
    Throughput,
}

/// <summary>How a shown metric's value is written in the console summary and the HTML page.</summary>
public enum MetricFormat
{
    /// <summary>A whole number with thousands separators (counts and cycles).</summary>
    Grouped,

    /// <summary>A ratio to three decimals with a times sign (<c>3.774x</c>, <c>3.774×</c>).</summary>
    Ratio,

    /// <summary>In millions to one decimal on the console (a rate), grouped in HTML.</summary>
    Millions,
}

/// <summary>That and how <c>compare</c> checks a metric.</summary>
/// <param name="Rule">Which threshold applies.</param>
/// <param name="Order">Position among the compared metrics (lower first); metrics without one follow in declaration order.</param>
public sealed record MetricCompare(CompareRule Rule, int Order = int.MaxValue);

/// <summary>That and how the console summary table and the HTML summary table show a metric.</summary>
/// <param name="Order">Position among the shown columns (lower first); metrics without one follow in declaration order.</param>
/// <param name="Format">How the value is written.</param>
/// <param name="ConsoleLabel">The console column's header when it is not the metric's name.</param>
public sealed record MetricDisplay(int Order = int.MaxValue, MetricFormat Format = MetricFormat.Grouped, string? ConsoleLabel = null);
