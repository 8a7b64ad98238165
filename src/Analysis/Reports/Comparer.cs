namespace Replay.Analysis.Reports;

/// <summary>One metric of one matched summary row, or a row present on one side only (metric <c>row</c>).</summary>
public sealed record CompareRow
{
    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public required string Phase { get; init; }
    public required string Metric { get; init; }
    public double Base { get; init; }
    public double Current { get; init; }
    public double Delta { get; init; }

    /// <summary>Delta in percent of base; +Infinity when base is 0 and current is not.</summary>
    public double DeltaPct { get; init; }

    /// <summary>The allowed change in percent for this metric (increase for counts and cycles, slowdown for throughput).</summary>
    public double LimitPct { get; init; }

    /// <summary>
    /// <c>same</c>, <c>better</c>, <c>worse</c> (within the limit), <c>regressed</c>, <c>not_recorded</c> (one side does not
    /// record the metric; base or current is then NaN), <c>only_in_base</c> or <c>only_in_current</c>.
    /// </summary>
    public required string Status { get; init; }
}

/// <summary>Thresholds of a comparison, in percent.</summary>
public sealed record CompareOptions(double MaxIncreasePct = 0, double MaxSlowdownPct = 10);

/// <summary>
/// Compares two reports' summaries for nightly regression jobs: rows are matched by (trace, engine, profile, phase);
/// the metrics compared, and how, are those <see cref="ReportMetrics"/> declares with a <see cref="MetricCompare"/>:
/// counts and cycles (deterministic, so any increase is a change) regress when they grow by more than
/// <see cref="CompareOptions.MaxIncreasePct"/>; <c>events_per_second</c> regresses when it falls by more than
/// <see cref="CompareOptions.MaxSlowdownPct"/>. A metric one side does not record (a report written before it
/// existed) is skipped with status <c>not_recorded</c>.
/// </summary>
public static class Comparer
{
    /// <summary>The status of a metric one side does not record.</summary>
    public const string NotRecorded = "not_recorded";

    /// <summary>The higher-is-worse metrics <c>compare</c> checks, in order (derived from the declarations).</summary>
    public static IReadOnlyList<string> CountMetrics { get; } =
        ReportMetrics.All.Compared.Where(m => m.Compare!.Rule == CompareRule.HigherIsWorse).Select(m => m.Name).ToList();

    /// <summary>The throughput metric <c>compare</c> checks against <c>--max-slowdown</c>.</summary>
    public static string ThroughputMetric { get; } = ReportMetrics.EventsPerSecond.Name;

    public static List<CompareRow> Compare(IReadOnlyList<SummaryRow> baseRows, IReadOnlyList<SummaryRow> currentRows, CompareOptions options)
    {
        static (string, string, string, string) Key(SummaryRow r) => (r.Trace, r.Engine, r.Profile, r.Phase);
        var current = currentRows.ToDictionary(Key);
        var baseKeys = baseRows.Select(Key).ToHashSet();
        var rows = new List<CompareRow>();
        foreach (var b in baseRows)
        {
            if (!current.TryGetValue(Key(b), out var c))
            {
                rows.Add(OneSided(b, "only_in_base"));
                continue;
            }

            // Both sides' metrics: rows read by another version (or with a metric added) still list what the other lacks.
            foreach (var metric in b.Values.Layout.Set.Compared.Union(c.Values.Layout.Set.Compared))
            {
                bool throughput = metric.Compare!.Rule == CompareRule.Throughput;
                rows.Add(Metric(b, metric.Name, b.Values.AsDouble(metric), c.Values.AsDouble(metric),
                    throughput ? options.MaxSlowdownPct : options.MaxIncreasePct, higherIsWorse: !throughput));
            }
        }

        rows.AddRange(currentRows.Where(c => !baseKeys.Contains(Key(c))).Select(c => OneSided(c, "only_in_current")));
        return rows;
    }

    private static CompareRow Metric(SummaryRow key, string metric, double? recordedBase, double? recordedCurrent, double limitPct, bool higherIsWorse)
    {
        if (recordedBase is not { } b || recordedCurrent is not { } c)
        {
            return new CompareRow
            {
                Trace = key.Trace, Engine = key.Engine, Profile = key.Profile, Phase = key.Phase, Metric = metric,
                Base = recordedBase ?? double.NaN, Current = recordedCurrent ?? double.NaN, Delta = double.NaN, DeltaPct = double.NaN,
                LimitPct = limitPct, Status = NotRecorded,
            };
        }

        // Relative to |base|: overhead can be negative, and a rise from -100 to -50 is still a rise.
        double deltaPct = b != 0 ? (c - b) / Math.Abs(b) * 100 : c == 0 ? 0 : double.PositiveInfinity * Math.Sign(c);
        double worsePct = higherIsWorse ? deltaPct : -deltaPct;
        string status = c == b ? "same"
            : worsePct < 0 ? "better"
            : worsePct > limitPct ? "regressed"
            : "worse";
        return new CompareRow
        {
            Trace = key.Trace, Engine = key.Engine, Profile = key.Profile, Phase = key.Phase, Metric = metric,
            Base = b, Current = c, Delta = c - b, DeltaPct = deltaPct, LimitPct = limitPct, Status = status,
        };
    }

    private static CompareRow OneSided(SummaryRow r, string status) => new()
    {
        Trace = r.Trace, Engine = r.Engine, Profile = r.Profile, Phase = r.Phase, Metric = "row",
        Base = double.NaN, Current = double.NaN, Delta = double.NaN, DeltaPct = double.NaN, LimitPct = double.NaN, Status = status,
    };
}
