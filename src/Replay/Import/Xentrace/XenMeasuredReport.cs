using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Replay.Analysis.Reports;

namespace Replay.Import.Xentrace;

/// <summary>
/// A <see cref="XenMeasurement"/> as a SPEC §5 report: one engine, <see cref="Engine"/>, profile <see cref="Profile"/>
/// (nothing priced: the cycles are the trace's TSC differences). Phases: <c>all</c> (every vCPU), <c>dN</c> (domain N)
/// and <c>dNvM</c> (one vCPU, as xenalyze's summary lists them). Summary rows record <c>exits</c> and <c>exit_cycles</c>
/// (and <c>events</c>, the records read, in phase <c>all</c>), every other metric is left unrecorded; <c>exits.parquet</c>
/// has one row per (phase, Intel basic exit reason, handler); the timeline has one window per <c>--window-ms</c> of
/// TSC time; the counters are <see cref="XenMeasurement.Counters"/>.
/// </summary>
internal static class XenMeasuredReport
{
    public const string Engine = "xen-measured";
    public const string Profile = Analysis.Reports.Comparer.MeasuredProfile;

    public static ReportTables Build(XenMeasurement m, string trace, string sha256, double cpuHz)
    {
        var tables = new ReportTables([], [], [], []);
        var scopes = new List<(string Phase, List<Dictionary<XenExitKind, XenExitTally>> Parts)>
        {
            (ReportBuilder.AllPhase, m.Exits.Values.ToList()),
        };
        foreach (var domain in m.Exits.GroupBy(e => e.Key.Domain))
        {
            scopes.Add(($"d{domain.Key}", domain.Select(e => e.Value).ToList()));
            scopes.AddRange(domain.Select(e => (e.Key.ToString(), new List<Dictionary<XenExitKind, XenExitTally>> { e.Value })));
        }

        foreach (var (phase, parts) in scopes)
        {
            var merged = Merge(parts);
            var row = new SummaryRow
            {
                Trace = trace, TraceSha256 = sha256, Engine = Engine, Profile = Profile, Phase = phase,
            };
            var values = Only(row.Values, [ReportMetrics.Exits, ReportMetrics.ExitCycles])
                .With(ReportMetrics.Exits, merged.Values.Sum(t => t.Count)).With(ReportMetrics.ExitCycles, merged.Values.Sum(t => (double)t.Cycles));
            tables.Summary.Add(row with { Values = phase == ReportBuilder.AllPhase ? values.With(ReportMetrics.Events, m.Records) : values });
            foreach (var (kind, t) in Ordered(merged))
            {
                tables.Exits.Add(new ExitRow(trace, Engine, Profile, phase, Tally(kind, t)));
            }
        }

        double nsPerWindow = m.WindowCycles / cpuHz * 1e9;
        var timeline = new List<TimelineRow>();
        var timelineExits = new List<TimelineExitRow>();
        foreach (var (window, kinds) in m.Windows)
        {
            var row = new TimelineRow
            {
                Trace = trace, Engine = Engine, Profile = Profile, Window = window, FirstEvent = m.WindowRecords[window].First, LastEvent = m.WindowRecords[window].Last,
                TimeNs = (long)Math.Round(window * nsPerWindow),
            };
            timeline.Add(row with { Values = Only(row.Values, [ReportMetrics.Exits]).With(ReportMetrics.Exits, kinds.Values.Sum(t => t.Count)) });
            timelineExits.AddRange(Ordered(kinds).Select(k => new TimelineExitRow(trace, Engine, Profile, window, Tally(k.Kind, k.Tally))));
        }

        tables.Counters.AddRange(m.Counters.Select(c => new CounterRow { Trace = trace, Engine = Engine, Name = c.Key, Value = c.Value }));
        return tables with { Timeline = timeline, TimelineExits = timelineExits };
    }

    /// <summary>Writes the report into <paramref name="dir"/> (each file to a temporary name, then renamed).</summary>
    public static async Task WriteAsync(string dir, XenMeasurement m, string inputPath, double cpuHz, string command, CancellationToken ct)
    {
        string sha = await Sha256Async(inputPath, ct).ConfigureAwait(false);
        var tables = Build(m, Path.GetFileName(inputPath), sha, cpuHz);
        string profile = JsonSerializer.Serialize(new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["name"] = Profile,
            ["description"] = "Measured by Xen: exit cycles are VMEXIT-to-VMENTRY TSC differences from xentrace, nothing is priced.",
            ["cpu_hz"] = cpuHz,
            ["window_cycles"] = m.WindowCycles,
        });
        await ReportWriter.WriteAsync(dir, tables, profile, new ReportProvenance(Cli.RunCommand.Version, Cli.RunCommand.Commit, command, sha), ct).ConfigureAwait(false);
    }

    /// <summary><paramref name="values"/> with only <paramref name="keep"/> recorded: the rest was not measured.</summary>
    private static MetricValues Only(MetricValues values, ReportMetric[] keep) =>
        values.WithoutRecorded(values.Layout.Where(x => !keep.Contains(x)));

    private static Dictionary<XenExitKind, XenExitTally> Merge(List<Dictionary<XenExitKind, XenExitTally>> parts)
    {
        var merged = new Dictionary<XenExitKind, XenExitTally>();
        foreach (var (kind, t) in parts.SelectMany(p => p))
        {
            if (!merged.TryGetValue(kind, out var sum))
            {
                merged[kind] = sum = new XenExitTally();
            }

            sum.Count += t.Count;
            sum.Timed += t.Timed;
            sum.Cycles += t.Cycles;
        }

        return merged;
    }

    /// <summary>A measured kind as a report row's exit part: Xen's exits have no work units.</summary>
    private static ExitTally Tally(XenExitKind kind, XenExitTally t) =>
        new(VmxExitReasons.Name(kind.Reason), VmxExitReasons.ReportCode(kind.Reason), kind.Handler, t.Count, 0, t.Cycles);

    private static IEnumerable<(XenExitKind Kind, XenExitTally Tally)> Ordered(Dictionary<XenExitKind, XenExitTally> kinds) =>
        kinds.OrderBy(k => k.Key.Reason).ThenBy(k => k.Key.Handler, StringComparer.Ordinal).Select(k => (k.Key, k.Value));

    private static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(s, ct).ConfigureAwait(false));
    }

    /// <summary>One line for people.</summary>
    public static string Describe(XenMeasurement m, double cpuHz)
    {
        long exits = m.Exits.Values.SelectMany(k => k.Values).Sum(t => t.Count);
        double seconds = (m.LastTsc - m.FirstTsc) / cpuHz;
        return string.Create(CultureInfo.InvariantCulture,
            $"{m.Records:N0} records over {seconds:F2} s; {exits:N0} exits of {m.Exits.Count} vCPUs in {m.Exits.Keys.Select(v => v.Domain).Distinct().Count()} domains; " +
            $"{m.Counters.GetValueOrDefault("lost_records"):N0} lost records; {m.Counters.GetValueOrDefault("unknown_events"):N0} unknown events");
    }
}
