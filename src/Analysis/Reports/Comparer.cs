namespace Replay.Analysis.Reports;

/// <summary>One metric of one matched summary row, or a row present on one side only (metric <c>row</c>).</summary>
public sealed record CompareRow
{
    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public required string Phase { get; init; }

    /// <summary>The vCPU of a per-vCPU row (<c>vcpus.parquet</c>); null for a summary row.</summary>
    public long? Vcpu { get; init; }

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

/// <summary>Thresholds of a comparison.</summary>
/// <param name="MaxIncreasePct">Allowed increase of the deterministic counts and cycles, in percent.</param>
/// <param name="MaxSlowdownPct">
/// Allowed drop of <c>events_per_second</c>, in percent; null (the default) leaves throughput out: it is the one
/// measurement that differs between two runs of the same input.
/// </param>
/// <param name="MinSeconds">
/// The throughput gate's noise floor: a run whose <c>replay_seconds</c> is below this on either side is not gated
/// (status <c>too_short</c>); sub-second runs vary by tens of percent on a shared machine.
/// </param>
public sealed record CompareOptions(double MaxIncreasePct = 0, double? MaxSlowdownPct = null, double MinSeconds = 1.0);

/// <summary>
/// Compares two reports' summaries for nightly regression jobs: rows are matched by (trace, engine, profile, phase);
/// the metrics compared, and how, are those <see cref="ReportMetrics"/> declares with a <see cref="MetricCompare"/>:
/// counts and cycles (deterministic, so any increase is a change) regress when they grow by more than
/// <see cref="CompareOptions.MaxIncreasePct"/>. <c>events_per_second</c> is compared only when
/// <see cref="CompareOptions.MaxSlowdownPct"/> is given, on phase <c>all</c> only (a phase's rate is the run's rate,
/// so per phase it would count one drop once per phase), and only for runs of at least
/// <see cref="CompareOptions.MinSeconds"/> on both sides; it regresses when it falls by more than the allowance.
/// A metric one side does not record (a report written before it existed) is skipped with status <c>not_recorded</c>.
/// Two summaries of different traces or profiles are not compared at all: <see cref="Incomparable"/> says why.
/// </summary>
public static class Comparer
{
    /// <summary>The status of a metric one side does not record.</summary>
    public const string NotRecorded = "not_recorded";

    /// <summary>The status of a throughput row below <see cref="CompareOptions.MinSeconds"/> on either side.</summary>
    public const string TooShort = "too_short";

    /// <summary>The higher-is-worse metrics <c>compare</c> checks, in order (derived from the declarations).</summary>
    public static IReadOnlyList<string> CountMetrics { get; } =
        ReportMetrics.All.Compared.Where(m => m.Compare!.Rule == CompareRule.HigherIsWorse).Select(m => m.Name).ToList();

    /// <summary>The throughput metric <c>compare</c> checks against <c>--max-slowdown</c>.</summary>
    public static string ThroughputMetric { get; } = ReportMetrics.EventsPerSecond.Name;

    public static List<CompareRow> Compare(IReadOnlyList<SummaryRow> baseRows, IReadOnlyList<SummaryRow> currentRows, CompareOptions options)
    {
        static (string, string, string, string) Key(SummaryRow r) => (r.Trace, r.Engine, r.Profile, r.Phase);
        IEnumerable<CompareRow> Both(SummaryRow b, SummaryRow c)
        {
            // Both sides' metrics: rows read by another version (or with a metric added) still list what the other lacks.
            foreach (var metric in b.Values.Layout.Set.Compared.Union(c.Values.Layout.Set.Compared))
            {
                if (metric.Compare!.Rule != CompareRule.Throughput)
                {
                    yield return Metric(b, metric.Name, b.Values.AsDouble(metric), c.Values.AsDouble(metric), options.MaxIncreasePct, higherIsWorse: true);
                }
                else if (options.MaxSlowdownPct is double slowdown && b.Phase == ReportBuilder.AllPhase)
                {
                    var row = Metric(b, metric.Name, b.Values.AsDouble(metric), c.Values.AsDouble(metric), slowdown, higherIsWorse: false);
                    bool tooShort = b.Values.AsDouble(ReportMetrics.ReplaySeconds) < options.MinSeconds
                        || c.Values.AsDouble(ReportMetrics.ReplaySeconds) < options.MinSeconds;
                    yield return tooShort && row.Status != NotRecorded ? row with { Status = TooShort } : row;
                }
            }
        }

        return Paired(baseRows, currentRows, Key, Both, OneSided);
    }

    /// <summary>
    /// Matches <paramref name="baseRows"/> with <paramref name="currentRows"/> by <paramref name="key"/>: in base order, a
    /// matched pair's rows from <paramref name="both"/> or an unmatched base row's from <paramref name="oneSided"/> (with
    /// <c>only_in_base</c>), then current's unmatched rows (<c>only_in_current</c>). A key twice on one side is an error.
    /// </summary>
    private static List<CompareRow> Paired<TRow, TKey>(IReadOnlyList<TRow> baseRows, IReadOnlyList<TRow> currentRows, Func<TRow, TKey> key,
        Func<TRow, TRow, IEnumerable<CompareRow>> both, Func<TRow, string, CompareRow> oneSided)
        where TKey : notnull
    {
        var current = currentRows.ToDictionary(key);
        var baseKeys = baseRows.Select(key).ToHashSet();
        var rows = new List<CompareRow>();
        foreach (var b in baseRows)
        {
            if (current.TryGetValue(key(b), out var c))
            {
                rows.AddRange(both(b, c));
            }
            else
            {
                rows.Add(oneSided(b, "only_in_base"));
            }
        }

        rows.AddRange(currentRows.Where(c => !baseKeys.Contains(key(c))).Select(c => oneSided(c, "only_in_current")));
        return rows;
    }

    /// <summary>
    /// The profile of a measured report (what a real hypervisor did, e.g. <c>replay import xentrace --report</c>):
    /// nothing in it is priced, so set beside a replay its rows are listed one-sided rather than refused.
    /// </summary>
    public const string MeasuredProfile = "measured";

    /// <summary>
    /// Why <paramref name="baseRows"/> and <paramref name="currentRows"/> cannot be compared, as one sentence, or null
    /// when they can: a trace both name but whose SHA-256 differs (another trace under the same name, so every change
    /// would be read as a regression), or no (trace, engine, profile, phase) row in common because the profiles or the
    /// traces differ (unless one side is a measured report). Rows that do not record a hash (empty) are not checked, nor any when <paramref name="checkHashes"/> is false.
    /// </summary>
    public static string? Incomparable(IReadOnlyList<SummaryRow> baseRows, IReadOnlyList<SummaryRow> currentRows, bool checkHashes = true)
    {
        static Dictionary<string, string> Hashes(IEnumerable<SummaryRow> rows) =>
            rows.Where(r => r.TraceSha256.Length > 0).GroupBy(r => r.Trace, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.First().TraceSha256, StringComparer.Ordinal);
        var baseHashes = Hashes(baseRows);
        var currentHashes = Hashes(currentRows);
        foreach (var (trace, hash) in baseHashes.OrderBy(t => t.Key, StringComparer.Ordinal).Where(_ => checkHashes))
        {
            if (currentHashes.TryGetValue(trace, out var other) && other != hash)
            {
                return $"base and current replayed different traces named {trace} (sha256 {hash[..Math.Min(12, hash.Length)]}... and {other[..Math.Min(12, other.Length)]}...), so their counts are not comparable.";
            }
        }

        static (string, string, string, string) Key(SummaryRow r) => (r.Trace, r.Engine, r.Profile, r.Phase);
        if (baseRows.Count == 0 || currentRows.Count == 0 || baseRows.Select(Key).Intersect(currentRows.Select(Key)).Any()
            || baseRows.Concat(currentRows).Any(r => r.Profile == MeasuredProfile))
        {
            return null;
        }

        static string Names(IEnumerable<string> names) => string.Join(", ", names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        var (bp, cp) = (baseRows.Select(r => r.Profile).ToHashSet(), currentRows.Select(r => r.Profile).ToHashSet());
        if (!bp.Overlaps(cp))
        {
            return $"base was priced with profile {Names(bp)} and current with {Names(cp)}: re-price one ('replay reprice') to compare them.";
        }

        var (bt, ct) = (baseRows.Select(r => r.Trace).ToHashSet(), currentRows.Select(r => r.Trace).ToHashSet());
        return !bt.Overlaps(ct)
            ? $"base and current replayed different traces ({Names(bt)} and {Names(ct)}), so no row can be compared."
            : $"base and current have no (trace, engine, profile, phase) row in common (engines {Names(baseRows.Select(r => r.Engine))} and {Names(currentRows.Select(r => r.Engine))}).";
    }

    /// <summary>
    /// Compares two reports' per-vCPU rows (<c>vcpus.parquet</c>) as <see cref="Compare"/> compares summaries, matched by
    /// (trace, engine, profile, phase, vCPU): the higher-is-worse metrics that are per vCPU, against
    /// <see cref="CompareOptions.MaxIncreasePct"/> (throughput is the run's, not a vCPU's). Rows carry their <see cref="CompareRow.Vcpu"/>.
    /// A trace that ran on one vCPU on both sides is left out: its one vCPU's rows are its summary rows again.
    /// </summary>
    public static List<CompareRow> CompareVcpus(IReadOnlyList<VcpuRow> baseRows, IReadOnlyList<VcpuRow> currentRows, CompareOptions options)
    {
        var several = baseRows.Concat(currentRows).GroupBy(r => r.Trace, StringComparer.Ordinal)
            .Where(g => g.Select(r => r.Vcpu).Distinct().Skip(1).Any()).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        baseRows = baseRows.Where(r => several.Contains(r.Trace)).ToList();
        currentRows = currentRows.Where(r => several.Contains(r.Trace)).ToList();
        static (string, string, string, string, int) Key(VcpuRow r) => (r.Trace, r.Engine, r.Profile, r.Phase, r.Vcpu);
        static SummaryRow AsKey(VcpuRow r) => new() { Trace = r.Trace, TraceSha256 = "", Engine = r.Engine, Profile = r.Profile, Phase = r.Phase };
        IEnumerable<CompareRow> Both(VcpuRow b, VcpuRow c) =>
            b.Values.Layout.Set.Compared.Union(c.Values.Layout.Set.Compared)
                .Where(m => m.Compare!.Rule == CompareRule.HigherIsWorse && (b.Values.Layout.Contains(m) || c.Values.Layout.Contains(m)))
                .Select(m => Metric(AsKey(b), m.Name, b.Values.AsDouble(m), c.Values.AsDouble(m), options.MaxIncreasePct, higherIsWorse: true) with { Vcpu = b.Vcpu });

        return Paired(baseRows, currentRows, Key, Both, (r, side) => OneSided(AsKey(r), side) with { Vcpu = r.Vcpu });
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
