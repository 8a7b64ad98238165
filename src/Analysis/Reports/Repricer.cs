using Replay.Analysis.Costs;
using Replay.Engines.Contract;
using Replay.Engines.Registry;

namespace Replay.Analysis.Reports;

/// <summary>
/// Re-prices a report with another cost profile without replaying (SPEC §4): the run results are rebuilt from the
/// report's own counts (summary, exits, timeline, timeline_exits, counters, vcpus, vcpu_exits; native's MMU counts
/// ride on every summary and per-vCPU row) and laid out by <see cref="ReportBuilder"/> exactly as a fresh replay's would be, so the result
/// equals a fresh replay with that profile whenever the profile's TLB geometry is the one the counts were
/// measured with. Exit kinds the report never saw (count 0) are not checked against the new profile. Which counts
/// are restored, and which an exact price needs, follows from <see cref="ReportMetrics"/>: a report lacking a count
/// the profile prices is refused (naming it); one lacking any other metric is re-priced and keeps it not recorded.
/// </summary>
public static class Repricer
{
    public static Task<RepricedReport> RepriceAsync(string reportDir, CostProfile profile, CancellationToken ct = default) =>
        RepriceAsync(reportDir, profile, ReportMetrics.All, ct);

    internal static async Task<RepricedReport> RepriceAsync(string reportDir, CostProfile profile, MetricSet metrics, CancellationToken ct)
    {
        string summaryPath = Path.Combine(reportDir, ReportWriter.SummaryFile);
        string timelinePath = Path.Combine(reportDir, ReportWriter.TimelineFile);
        var summary = await ReportReader.ReadSummaryAsync(summaryPath, metrics, ct).ConfigureAwait(false);
        var exits = await ReportReader.ReadExitsAsync(Path.Combine(reportDir, ReportWriter.ExitsFile), ct).ConfigureAwait(false);
        var timeline = await ReportReader.ReadTimelineAsync(timelinePath, metrics, ct).ConfigureAwait(false);
        var windowExits = await ReportReader.ReadTimelineExitsAsync(Path.Combine(reportDir, ReportWriter.TimelineExitsFile), ct).ConfigureAwait(false);
        var counters = await ReportReader.ReadCountersAsync(Path.Combine(reportDir, ReportWriter.CountersFile), ct).ConfigureAwait(false);
        // A report written before the per-vCPU files existed has none: it is re-priced without per-vCPU rows.
        string vcpusPath = Path.Combine(reportDir, ReportWriter.VcpusFile);
        string vcpuExitsPath = Path.Combine(reportDir, ReportWriter.VcpuExitsFile);
        var vcpus = File.Exists(vcpusPath) ? await ReportReader.ReadVcpusAsync(vcpusPath, metrics, ct).ConfigureAwait(false) : [];
        var vcpuExits = File.Exists(vcpuExitsPath) ? await ReportReader.ReadVcpuExitsAsync(vcpuExitsPath, ct).ConfigureAwait(false) : [];
        var metadata = await ReportReader.ReadMetadataAsync(summaryPath, ct).ConfigureAwait(false);
        var original = ProfileCatalog.Parse(metadata.GetValueOrDefault("replay.profile") ?? "", $"{summaryPath} (replay.profile)");

        var nativeTraces = summary.Where(r => r.Engine == EngineRegistry.NativeName).Select(r => r.Trace).ToHashSet(StringComparer.Ordinal);
        PricingNeeds.Require(summaryPath, profile, metrics.Summary, summary, r => nativeTraces.Contains(r.Trace));
        PricingNeeds.Require(timelinePath, profile, metrics.Timeline, timeline, _ => true);
        PricingNeeds.Require(vcpusPath, profile, metrics.Vcpus, vcpus, r => nativeTraces.Contains(r.Trace));

        var perVcpu = new PerVcpuRows(vcpus, vcpuExits);
        var traces = summary.Select(r => r.Trace).Distinct().Select(t => Trace(t, summary, exits, timeline, windowExits, counters, perVcpu)).ToList();
        var tables = ReportBuilder.Build(profile, traces, metrics);
        return new RepricedReport(KeepNotRecorded(tables, summary, timeline, vcpus), original, metadata.GetValueOrDefault("replay.trace.sha256") ?? "");
    }

    /// <summary>A report's per-vCPU rows and exits (empty for a report written before they existed).</summary>
    private sealed record PerVcpuRows(List<VcpuRow> Rows, List<VcpuExitRow> Exits);

    /// <summary>What the report did not record, the re-priced one does not either (nor what is derived from it).</summary>
    private static ReportTables KeepNotRecorded(ReportTables tables, List<SummaryRow> summary, List<TimelineRow> timeline, List<VcpuRow> vcpus)
    {
        var phases = summary.ToDictionary(r => (r.Trace, r.Engine, r.Phase));
        var windows = timeline.ToDictionary(r => (r.Trace, r.Engine, r.Window));
        var perVcpu = vcpus.ToDictionary(r => (r.Trace, r.Engine, r.Phase, r.Vcpu));
        MetricValues Keep(MetricValues values, MetricRow source) =>
            source.Values.NotRecorded().Any() ? values.WithoutRecorded(tables.Metrics.Affected(source.Values.NotRecorded())) : values;

        return tables with
        {
            Summary = tables.Summary.Select(r => r with { Values = Keep(r.Values, phases[(r.Trace, r.Engine, r.Phase)]) }).ToList(),
            Timeline = tables.Timeline.Select(r => r with { Values = Keep(r.Values, windows[(r.Trace, r.Engine, r.Window)]) }),
            Vcpus = tables.Vcpus.Select(r => r with { Values = Keep(r.Values, perVcpu[(r.Trace, r.Engine, r.Phase, r.Vcpu)]) }).ToList(),
        };
    }

    private static TraceRunResult Trace(string trace, List<SummaryRow> summary, List<ExitRow> exits, List<TimelineRow> timeline,
        List<TimelineExitRow> windowExits, List<CounterRow> counters, PerVcpuRows perVcpu)
    {
        var rows = summary.Where(r => r.Trace == trace).ToList();
        var engines = rows.Select(r => r.Engine).Distinct().Select(e => Engine(trace, e, rows, exits, timeline, windowExits, counters, perVcpu)).ToList();
        if (!engines.Any(e => e.IsNative))
        {
            string first = rows[0].Engine;
            engines.Add(SyntheticNative(rows.Where(r => r.Engine == first).ToList(),
                perVcpu.Rows.Where(r => r.Trace == trace && r.Engine == first).ToList()));
        }

        return new TraceRunResult(trace, rows[0].TraceSha256, engines);
    }

    private static EngineRunResult Engine(string trace, string engine, List<SummaryRow> traceRows, List<ExitRow> exits,
        List<TimelineRow> timeline, List<TimelineExitRow> windowExits, List<CounterRow> counters, PerVcpuRows perVcpu)
    {
        var rows = traceRows.Where(r => r.Engine == engine).ToList();
        var myExits = exits.Where(x => x.Trace == trace && x.Engine == engine).ToList();
        var myWindowExits = windowExits.Where(x => x.Trace == trace && x.Engine == engine).ToList();
        var myVcpus = perVcpu.Rows.Where(r => r.Trace == trace && r.Engine == engine).ToList();
        var myVcpuExits = perVcpu.Exits.Where(x => x.Trace == trace && x.Engine == engine).ToList();
        var kinds = myExits.Select(x => (x.Reason, x.ReasonCode, x.Handler))
            .Concat(myWindowExits.Select(x => (x.Reason, x.ReasonCode, x.Handler)))
            .Concat(myVcpuExits.Select(x => (x.Reason, x.ReasonCode, x.Handler)))
            .Distinct()
            .Select(k => new ExitKind(Reason(k.Reason), k.Handler))
            .ToList();
        var myCounters = counters.Where(c => c.Trace == trace && c.Engine == engine).ToList();
        var counterNames = myCounters.Select(c => c.Name).ToList();

        void AddExits(EngineStats s, IEnumerable<(string Reason, string Handler, long Count, long Units)> rowsOfKind)
        {
            foreach (var x in rowsOfKind)
            {
                int k = kinds.FindIndex(kind => kind.Reason.Name == x.Reason && kind.Handler == x.Handler);
                s.ExitCounts[k] = x.Count;
                s.ExitUnits[k] = x.Units;
            }
        }

        EngineStats StatsOf(SummaryRow row)
        {
            var s = FromRow(row, kinds.Count, counterNames.Count);
            AddExits(s, myExits.Where(x => x.Phase == row.Phase).Select(x => (x.Reason, x.Handler, x.Count, x.Units)));
            return s;
        }

        var all = rows.Single(r => r.Phase == ReportBuilder.AllPhase);
        var allStats = StatsOf(all);
        for (int i = 0; i < myCounters.Count; i++)
        {
            allStats.Counters[i] = myCounters[i].Value;
        }

        var exitsByWindow = myWindowExits.ToLookup(x => x.Window); // a lookup, not a scan per window: --window 1 has millions
        var windows = timeline.Where(w => w.Trace == trace && w.Engine == engine).Select(w =>
        {
            var s = FromRow(w, kinds.Count, counterNames.Count);
            AddExits(s, exitsByWindow[w.Window].Select(x => (x.Reason, x.Handler, x.Count, x.Units)));
            return new WindowResult(w.Window, w.FirstEvent, w.LastEvent, w.TimeNs, s);
        }).ToList();

        var vcpus = myVcpus.Select(v =>
        {
            var s = FromRow(v, kinds.Count, counterNames.Count);
            AddExits(s, myVcpuExits.Where(x => x.Phase == v.Phase && x.Vcpu == v.Vcpu).Select(x => (x.Reason, x.Handler, x.Count, x.Units)));
            return new VcpuResult(v.Phase, v.Vcpu, s);
        }).ToList();

        return new EngineRunResult(engine, engine == EngineRegistry.NativeName, true, kinds, counterNames, allStats,
            rows.Where(r => r.Phase != ReportBuilder.AllPhase).Select(r => new PhaseResult(r.Phase, StatsOf(r))).ToList(),
            windows, all.ReplaySeconds)
        {
            Vcpus = vcpus,
        };
    }

    /// <summary>Native when it was not reported: its whole MMU cost is its walks, carried on every summary row.</summary>
    private static EngineRunResult SyntheticNative(List<SummaryRow> rows, List<VcpuRow> vcpus)
    {
        EngineStats StatsOf(MetricRow r)
        {
            var s = FromRow(r, 0, 0);
            foreach (var n in r.Values.Layout.Where(m => m.Reprice == RepriceRule.NativeCount && r.IsRecorded(m)))
            {
                n.NativeOf!.Restore!(s, r.Values.Raw(n));
            }

            s.Exits = 0; // native takes none
            return s;
        }

        var all = rows.Single(r => r.Phase == ReportBuilder.AllPhase);
        return new EngineRunResult(EngineRegistry.NativeName, true, false, [], [], StatsOf(all),
            rows.Where(r => r.Phase != ReportBuilder.AllPhase).Select(r => new PhaseResult(r.Phase, StatsOf(r))).ToList(), [], 0)
        {
            Vcpus = vcpus.Select(v => new VcpuResult(v.Phase, v.Vcpu, StatsOf(v))).ToList(),
        };
    }

    /// <summary>Stats holding the row's recorded counts (every restored metric of its file), the rest 0.</summary>
    private static EngineStats FromRow(MetricRow row, int kinds, int counters)
    {
        var s = new EngineStats(kinds, counters);
        foreach (var m in row.Values.Layout.Where(m => m.Reprice == RepriceRule.Restored && row.IsRecorded(m)))
        {
            m.Restore!(s, row.Values.Raw(m));
        }

        return s;
    }

    private static ExitReason Reason(string name) =>
        ExitReason.FromName(name) ?? throw new InvalidDataException($"The report names exit reason '{name}', which this version of replay does not know.");
}

/// <summary>A re-priced report: its tables, the profile its counts were measured with, and the trace hash.</summary>
public sealed record RepricedReport(ReportTables Tables, CostProfile CountsProfile, string TraceSha256);
