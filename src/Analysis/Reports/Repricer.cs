using Replay.Analysis.Costs;
using Replay.Engines.Contract;

namespace Replay.Analysis.Reports;

/// <summary>
/// Re-prices a report with another cost profile without replaying (SPEC §4): the run results are rebuilt from the
/// report's own counts (summary, exits, timeline, timeline_exits, counters; native's MMU counts ride on every
/// summary row) and laid out by <see cref="ReportBuilder"/> exactly as a fresh replay's would be, so the result
/// equals a fresh replay with that profile whenever the profile's TLB geometry is the one the counts were
/// measured with. Exit kinds the report never saw (count 0) are not checked against the new profile.
/// </summary>
public static class Repricer
{
    public static async Task<RepricedReport> RepriceAsync(string reportDir, CostProfile profile, CancellationToken ct = default)
    {
        string summaryPath = Path.Combine(reportDir, ReportWriter.SummaryFile);
        var summary = await ReportReader.ReadSummaryAsync(summaryPath, ct).ConfigureAwait(false);
        var exits = await ReportReader.ReadExitsAsync(Path.Combine(reportDir, ReportWriter.ExitsFile), ct).ConfigureAwait(false);
        var timeline = await ReportReader.ReadTimelineAsync(Path.Combine(reportDir, ReportWriter.TimelineFile), ct).ConfigureAwait(false);
        var windowExits = await ReportReader.ReadTimelineExitsAsync(Path.Combine(reportDir, ReportWriter.TimelineExitsFile), ct).ConfigureAwait(false);
        var counters = await ReportReader.ReadCountersAsync(Path.Combine(reportDir, ReportWriter.CountersFile), ct).ConfigureAwait(false);
        var metadata = await ReportReader.ReadMetadataAsync(summaryPath, ct).ConfigureAwait(false);
        var original = ProfileCatalog.Parse(metadata.GetValueOrDefault("replay.profile") ?? "", $"{summaryPath} (replay.profile)");

        var traces = summary.Select(r => r.Trace).Distinct().Select(t => Trace(t, summary, exits, timeline, windowExits, counters)).ToList();
        return new RepricedReport(ReportBuilder.Build(profile, traces), original, metadata.GetValueOrDefault("replay.trace.sha256") ?? "");
    }

    private static TraceRunResult Trace(string trace, List<SummaryRow> summary, List<ExitRow> exits, List<TimelineRow> timeline,
        List<TimelineExitRow> windowExits, List<CounterRow> counters)
    {
        var rows = summary.Where(r => r.Trace == trace).ToList();
        var engines = rows.Select(r => r.Engine).Distinct().Select(e => Engine(trace, e, rows, exits, timeline, windowExits, counters)).ToList();
        if (!engines.Any(e => e.IsNative))
        {
            engines.Add(SyntheticNative(rows.Where(r => r.Engine == rows[0].Engine).ToList()));
        }

        return new TraceRunResult(trace, rows[0].TraceSha256, engines);
    }

    private static EngineRunResult Engine(string trace, string engine, List<SummaryRow> traceRows, List<ExitRow> exits,
        List<TimelineRow> timeline, List<TimelineExitRow> windowExits, List<CounterRow> counters)
    {
        var rows = traceRows.Where(r => r.Engine == engine).ToList();
        var myExits = exits.Where(x => x.Trace == trace && x.Engine == engine).ToList();
        var myWindowExits = windowExits.Where(x => x.Trace == trace && x.Engine == engine).ToList();
        var kinds = myExits.Select(x => (x.Reason, x.ReasonCode, x.Handler))
            .Concat(myWindowExits.Select(x => (x.Reason, x.ReasonCode, x.Handler)))
            .Distinct()
            .Select(k => new ExitKind(Reason(k.Reason), k.Handler))
            .ToList();
        var myCounters = counters.Where(c => c.Trace == trace && c.Engine == engine).ToList();
        var counterNames = myCounters.Select(c => c.Name).ToList();

        EngineStats StatsOf(SummaryRow row)
        {
            var s = FromRow(row, kinds.Count, counterNames.Count);
            foreach (var x in myExits.Where(x => x.Phase == row.Phase))
            {
                int k = kinds.FindIndex(kind => kind.Reason.Name == x.Reason && kind.Handler == x.Handler);
                s.ExitCounts[k] = x.Count;
                s.ExitUnits[k] = x.Units;
            }

            return s;
        }

        var all = rows.Single(r => r.Phase == ReportBuilder.AllPhase);
        var allStats = StatsOf(all);
        for (int i = 0; i < myCounters.Count; i++)
        {
            allStats.Counters[i] = myCounters[i].Value;
        }

        var windows = timeline.Where(w => w.Trace == trace && w.Engine == engine).Select(w =>
        {
            var s = new EngineStats(kinds.Count, counterNames.Count)
            {
                Accesses = w.Accesses, Exits = w.Exits, GuestFaults = w.GuestFaults, TlbMisses = w.TlbMisses,
                ShadowPages = w.ShadowPages, WalkRefs = w.WalkRefs, PscHits = w.PscHits,
            };
            foreach (var x in myWindowExits.Where(x => x.Window == w.Window))
            {
                int k = kinds.FindIndex(kind => kind.Reason.Name == x.Reason && kind.Handler == x.Handler);
                s.ExitCounts[k] = x.Count;
                s.ExitUnits[k] = x.Units;
            }

            return new WindowResult(w.Window, w.FirstEvent, w.LastEvent, w.TimeNs, s);
        }).ToList();

        return new EngineRunResult(engine, engine == EngineRegistry.NativeName, true, kinds, counterNames, allStats,
            rows.Where(r => r.Phase != ReportBuilder.AllPhase).Select(r => new PhaseResult(r.Phase, StatsOf(r))).ToList(),
            windows, all.ReplaySeconds);
    }

    /// <summary>Native when it was not reported: its whole MMU cost is its walks, carried on every summary row.</summary>
    private static EngineRunResult SyntheticNative(List<SummaryRow> rows)
    {
        EngineStats StatsOf(SummaryRow r)
        {
            var s = FromRow(r, 0, 0);
            s.WalkRefs = r.NativeWalkRefs;
            s.PscHits = r.NativePscHits;
            s.Exits = 0;
            return s;
        }

        var all = rows.Single(r => r.Phase == ReportBuilder.AllPhase);
        return new EngineRunResult(EngineRegistry.NativeName, true, false, [], [], StatsOf(all),
            rows.Where(r => r.Phase != ReportBuilder.AllPhase).Select(r => new PhaseResult(r.Phase, StatsOf(r))).ToList(), [], 0);
    }

    private static EngineStats FromRow(SummaryRow r, int kinds, int counters) => new(kinds, counters)
    {
        Events = r.Events, Accesses = r.Accesses, Cr3Loads = r.Cr3Loads, PtWrites = r.PtWrites, Invlpgs = r.Invlpgs,
        Flushes = r.Flushes, TraceWarnings = r.TraceWarnings, GuestFaults = r.GuestFaults, TlbMisses = r.TlbMisses,
        WalkRefs = r.WalkRefs, PscHits = r.PscHits, Exits = r.Exits, ShadowPagesCreated = r.ShadowPagesCreated,
        ShadowPagesEvicted = r.ShadowPagesEvicted, EmulatedWrites = r.EmulatedWrites, Unsyncs = r.Unsyncs,
        Resyncs = r.Resyncs, Unshadows = r.Unshadows, ShadowPagesPeak = r.ShadowPagesPeak,
    };

    private static ExitReason Reason(string name) =>
        ExitReason.FromName(name) ?? throw new InvalidDataException($"The report names exit reason '{name}', which this version of replay does not know.");
}

/// <summary>A re-priced report: its tables, the profile its counts were measured with, and the trace hash.</summary>
public sealed record RepricedReport(ReportTables Tables, CostProfile CountsProfile, string TraceSha256);
