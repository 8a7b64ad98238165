using Replay.Analysis.Costs;
using Replay.Engines.Contract;

namespace Replay.Analysis.Reports;

/// <summary>
/// Prices run results under one profile and lays them out as the SPEC §5 tables. Rows come in input order: trace,
/// then engine, then phase <c>all</c> before the named phases. Only engines with <c>Reported</c> get rows; the
/// native run is always priced, because every overhead and slowdown is measured against it. Per-vCPU rows
/// (<c>vcpus</c>, <c>vcpu_exits</c>) follow each engine's in the order of <see cref="EngineRunResult.Vcpus"/>. The
/// timeline and its exits are lazy: each enumeration prices the engines' windows one at a time as it goes (a window
/// is priced on its own counts, no native baseline), so writing them never holds more than the writer's row group.
/// </summary>
public static class ReportBuilder
{
    public const string AllPhase = "all";

    public static ReportTables Build(CostProfile profile, IEnumerable<TraceRunResult> traces) => Build(profile, traces, ReportMetrics.All);

    /// <summary>The tables with <paramref name="metrics"/>' columns (tests add a metric through this).</summary>
    internal static ReportTables Build(CostProfile profile, IEnumerable<TraceRunResult> traces, MetricSet metrics)
    {
        var all = traces.ToList();
        var tables = new ReportTables([], [], TimelineRows(profile, all, metrics), []) { Metrics = metrics, TimelineExits = TimelineExitRows(profile, all) };
        foreach (var trace in all)
        {
            var native = Native(trace);
            var baseline = new Dictionary<string, (PricedStats Priced, EngineStats Stats)>(StringComparer.Ordinal);
            foreach (var phase in Phases(native))
            {
                if (!baseline.TryAdd(phase.Phase, (Pricing.Price(profile, native.ExitKinds, phase.Stats), phase.Stats)))
                {
                    throw new ArgumentException($"Trace '{trace.Trace}' has phase '{phase.Phase}' twice; phase names must be unique and not '{AllPhase}'.", nameof(traces));
                }
            }

            var vcpuBaseline = new Dictionary<(string Phase, int Vcpu), (PricedStats Priced, EngineStats Stats)>();
            foreach (var v in native.Vcpus)
            {
                if (!vcpuBaseline.TryAdd((v.Phase, v.Vcpu), (Pricing.Price(profile, native.ExitKinds, v.Stats), v.Stats)))
                {
                    throw new ArgumentException($"Trace '{trace.Trace}': native has vCPU {v.Vcpu} of phase '{v.Phase}' twice.", nameof(traces));
                }
            }

            foreach (var run in trace.Engines.Where(e => e.Reported))
            {
                AddEngine(tables, profile, trace, run, baseline);
                AddVcpus(tables, profile, trace, run, vcpuBaseline);
            }
        }

        return tables;
    }

    private static void AddEngine(ReportTables t, CostProfile profile, TraceRunResult trace, EngineRunResult run, Dictionary<string, (PricedStats Priced, EngineStats Stats)> baseline)
    {
        bool isAll = true;
        foreach (var phase in Phases(run))
        {
            var priced = Pricing.Price(profile, run.ExitKinds, phase.Stats);
            if (!baseline.TryGetValue(phase.Phase, out var native))
            {
                throw new ArgumentException($"Trace '{trace.Trace}': engine '{run.Engine}' has phase '{phase.Phase}' but the native run does not.", nameof(trace));
            }

            // Phases are not timed separately: a named phase gets the run's time in proportion to its events.
            double seconds = isAll ? run.ReplaySeconds
                : run.All.Events == 0 ? 0
                : run.ReplaySeconds * phase.Stats.Events / run.All.Events;
            t.Summary.Add(new SummaryRow
            {
                Trace = trace.Trace, TraceSha256 = trace.TraceSha256, Engine = run.Engine, Profile = profile.Name, Phase = phase.Phase,
                Values = t.Metrics.Summary.Compute(new MetricInputs(phase.Stats, priced, native.Stats, native.Priced, run.IsNative, seconds)),
            });
            AddExits(t.Exits, profile, trace, run, phase);
            isAll = false;
        }

        for (int i = 0; i < run.CounterNames.Count; i++)
        {
            t.Counters.Add(new CounterRow { Trace = trace.Trace, Engine = run.Engine, Name = run.CounterNames[i], Value = run.All.Counters[i] });
        }
    }

    /// <summary>Every reported engine's timeline windows: per trace, per engine, in window order (the timeline's order).</summary>
    private static IEnumerable<(TraceRunResult Trace, EngineRunResult Run, WindowResult Window)> ReportedWindows(List<TraceRunResult> traces) =>
        from trace in traces
        from run in trace.Engines
        where run.Reported
        from w in run.Windows
        select (trace, run, w);

    /// <summary>The timeline: each window priced on its own counts.</summary>
    private static IEnumerable<TimelineRow> TimelineRows(CostProfile profile, List<TraceRunResult> traces, MetricSet metrics) =>
        ReportedWindows(traces).Select(x => new TimelineRow
        {
            Trace = x.Trace.Trace, Engine = x.Run.Engine, Profile = profile.Name,
            Window = x.Window.Window, FirstEvent = x.Window.FirstEvent, LastEvent = x.Window.LastEvent, TimeNs = x.Window.TimeNs,
            Values = metrics.Timeline.Compute(new MetricInputs(x.Window.Stats, Pricing.Price(profile, x.Run.ExitKinds, x.Window.Stats))),
        });

    /// <summary>The timeline's exits, in the timeline's order: per window, the exit kinds that happened in it, in the engine's order.</summary>
    private static IEnumerable<TimelineExitRow> TimelineExitRows(CostProfile profile, List<TraceRunResult> traces)
    {
        foreach (var (trace, run, w) in ReportedWindows(traces))
        {
            foreach (var e in PricedExits(profile, run, w.Stats))
            {
                yield return new TimelineExitRow(trace.Trace, run.Engine, profile.Name, w.Window, e.Tally);
            }
        }
    }

    /// <summary>
    /// The per-vCPU rows: each vCPU's counts priced as a phase's are, against native's counts for the same vCPU and
    /// phase (native replays the same events, so it has the same vCPUs), so a vCPU's overhead and slowdown are its own.
    /// </summary>
    private static void AddVcpus(ReportTables t, CostProfile profile, TraceRunResult trace, EngineRunResult run,
        Dictionary<(string Phase, int Vcpu), (PricedStats Priced, EngineStats Stats)> baseline)
    {
        foreach (var v in run.Vcpus)
        {
            if (!baseline.TryGetValue((v.Phase, v.Vcpu), out var native))
            {
                throw new ArgumentException($"Trace '{trace.Trace}': engine '{run.Engine}' has vCPU {v.Vcpu} in phase '{v.Phase}' but the native run does not.", nameof(trace));
            }

            var priced = Pricing.Price(profile, run.ExitKinds, v.Stats);
            t.Vcpus.Add(new VcpuRow
            {
                Trace = trace.Trace, Engine = run.Engine, Profile = profile.Name, Phase = v.Phase, Vcpu = v.Vcpu,
                Values = t.Metrics.Vcpus.Compute(new MetricInputs(v.Stats, priced, native.Stats, native.Priced, run.IsNative, 0)),
            });
            foreach (var e in PricedExits(profile, run, v.Stats))
            {
                t.VcpuExits.Add(new VcpuExitRow(trace.Trace, run.Engine, profile.Name, v.Phase, v.Vcpu, e.Tally));
            }
        }
    }

    /// <summary>total / native total, never NaN: 0/0 is 1.0 (nothing to slow down) and x/0 is +Infinity.</summary>
    internal static double Slowdown(double total, double nativeTotal) =>
        nativeTotal != 0 ? total / nativeTotal : total == 0 ? 1.0 : double.PositiveInfinity;

    private static void AddExits(List<ExitRow> rows, CostProfile profile, TraceRunResult trace, EngineRunResult run, PhaseResult phase)
    {
        foreach (var e in PricedExits(profile, run, phase.Stats))
        {
            rows.Add(new ExitRow(trace.Trace, run.Engine, profile.Name, phase.Phase, e.Tally));
        }
    }

    /// <summary>
    /// The rows of every long-form exit table for counts <paramref name="s"/>: each exit kind of the engine that
    /// happened at least once, in the engine's order, with its count, units and cycles under <paramref name="profile"/>.
    /// </summary>
    private static IEnumerable<PricedExit> PricedExits(CostProfile profile, EngineRunResult run, EngineStats s)
    {
        for (int i = 0; i < run.ExitKinds.Count; i++)
        {
            if (s.ExitCounts[i] != 0)
            {
                var kind = run.ExitKinds[i];
                yield return new PricedExit(kind, s.ExitCounts[i], s.ExitUnits[i], Pricing.ExitCycles(profile, kind, s.ExitCounts[i], s.ExitUnits[i]));
            }
        }
    }

    private readonly record struct PricedExit(ExitKind Kind, long Count, long Units, double Cycles)
    {
        public ExitTally Tally => new(Kind.Reason.Name, Kind.Reason.Code, Kind.Handler, Count, Units, Cycles);
    }

    /// <summary>Phase <c>all</c> followed by the named phases.</summary>
    private static IEnumerable<PhaseResult> Phases(EngineRunResult run) =>
        run.Phases.Prepend(new PhaseResult(AllPhase, run.All));

    private static EngineRunResult Native(TraceRunResult trace)
    {
        var natives = trace.Engines.Where(e => e.IsNative).ToList();
        return natives.Count == 1
            ? natives[0]
            : throw new ArgumentException($"Trace '{trace.Trace}' has {natives.Count} native runs; exactly one is needed as the baseline.", nameof(trace));
    }
}
