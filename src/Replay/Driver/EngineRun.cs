using Replay.Analysis.Reports;
using Replay.Engines.Contract;
using Replay.Engines.Registry;

namespace Replay.Driver;

/// <summary>
/// One engine's replay of one trace: the engine plus the driver's phase and timeline bookkeeping. Closed timeline
/// windows go to <paramref name="windows"/> (kept in memory, or spilled to a file as they close), which the result
/// hands on; the run disposes it only when it fails (<see cref="Abandon"/>).
/// </summary>
internal sealed class EngineRun(EngineSpec spec, IMmuEngine engine, bool reported, WindowLog windows)
{
    private readonly List<string> _phaseOrder = [];
    private readonly Dictionary<string, EngineStats> _phases = new(StringComparer.Ordinal);
    private readonly WindowLog _windows = windows;
    private string? _phase;
    private EngineStats? _phaseStart;
    private long _phasePeak;
    private EngineStats _windowStart = engine.Stats.Clone();
    private long _windowFirst;

    public EngineSpec Spec { get; } = spec;
    public IMmuEngine Engine { get; } = engine;
    public bool Reported { get; } = reported;
    public long Ticks { get; set; }

    /// <summary>Time of the last event replayed, when the trace has time.</summary>
    public long? LastTime { get; set; }

    public EngineStats Stats => Engine.Stats;

    /// <summary>Takes the peak reached during the segment just run into the phase's and window's peaks.</summary>
    public void AfterSegment()
    {
        _phasePeak = Math.Max(_phasePeak, Stats.SegmentPeak);
        _windowPeak = Math.Max(_windowPeak, Stats.SegmentPeak);
        _countedPeak = Math.Max(_countedPeak, Stats.SegmentPeak);
        Stats.ResetSegmentPeak();
    }

    private long _windowPeak;

    /// <summary>The engine's counts when counting started (<c>--skip</c>, <c>--warmup</c>); null when every row counts.</summary>
    private EngineStats? _countedFrom;
    private long _countedPeak;

    /// <summary>
    /// Counting starts at <paramref name="row"/>: everything the engine counted before (skipped and warm-up rows) is
    /// left out of the run's, the phases' and the windows' counts. The engine's state (guest memory, TLBs, shadows)
    /// and the phase it is in carry on; the timeline's first window starts at <paramref name="row"/>.
    /// </summary>
    public void StartCounting(long row)
    {
        _vcpuSpans.Clear();
        _open = null;
        _countedFrom = Stats.Clone();
        _countedPeak = Stats.ShadowPages;
        _phases.Clear();
        _phaseOrder.Clear();
        if (_phase is not null)
        {
            _phaseStart = Stats.Clone();
            _phasePeak = Stats.ShadowPages;
        }

        _windows.Clear();
        _windowStart = Stats.Clone();
        _windowFirst = row;
        _windowPeak = Stats.ShadowPages;
    }

    /// <summary>The run's counts: all of them, or those since <see cref="StartCounting"/>.</summary>
    private EngineStats Counted()
    {
        if (_countedFrom is null)
        {
            return Stats.Clone();
        }

        var counted = Stats.Minus(_countedFrom);
        counted.ShadowPagesPeak = _countedPeak;
        return counted;
    }

    // Per-vCPU attribution (xenalyze's and perf kvm stat's per-vCPU view): the driver cuts segments where the vCPU
    // changes and calls AttributeTo before each one it replays, so everything the engine and the driver count from
    // then until the vCPU or the phase changes is that vCPU's. A span is kept as two sums of the engine's cumulative
    // stats, at the opens and at the closes of its stretches: their difference is the vCPU's share, with an Add (no
    // allocation) per switch. Exact even if a sum wraps: two's complement differences are exact modulo 2^64.
    private readonly Dictionary<(string Phase, int Vcpu), VcpuSpan> _vcpuSpans = [];
    private (int Vcpu, string? Phase, VcpuSpan All, VcpuSpan? Named)? _open;

    /// <summary>What follows, until the next call with another vCPU or in another phase, is <paramref name="vcpu"/>'s.</summary>
    public void AttributeTo(int vcpu)
    {
        if (_open is { } o && o.Vcpu == vcpu && string.Equals(o.Phase, _phase, StringComparison.Ordinal))
        {
            return;
        }

        CloseVcpuSpan();
        var all = Span(ReportBuilder.AllPhase, vcpu);
        var named = _phase is null ? null : Span(_phase, vcpu);
        all.Opened.Add(Stats);
        named?.Opened.Add(Stats);
        _open = (vcpu, _phase, all, named);
    }

    private void CloseVcpuSpan()
    {
        if (_open is { } o)
        {
            o.All.Closed.Add(Stats);
            o.Named?.Closed.Add(Stats);
            _open = null;
        }
    }

    private VcpuSpan Span(string phase, int vcpu)
    {
        if (!_vcpuSpans.TryGetValue((phase, vcpu), out var span))
        {
            span = new VcpuSpan(Stats.ExitCounts.Length, Stats.Counters.Length);
            _vcpuSpans.Add((phase, vcpu), span);
        }

        return span;
    }

    /// <summary>Phase <c>all</c>'s vCPUs, then each named phase's in the phases' order; vCPUs ascending.</summary>
    private List<VcpuResult> PerVcpu()
    {
        CloseVcpuSpan();
        var order = _phaseOrder.Prepend(ReportBuilder.AllPhase).Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i, StringComparer.Ordinal);
        return _vcpuSpans
            .Where(s => order.ContainsKey(s.Key.Phase))
            .OrderBy(s => order[s.Key.Phase]).ThenBy(s => s.Key.Vcpu)
            .Select(s => new VcpuResult(s.Key.Phase, s.Key.Vcpu, s.Value.Closed.Minus(s.Value.Opened)))
            .ToList();
    }

    private sealed class VcpuSpan(int exitKinds, int counters)
    {
        public EngineStats Opened { get; } = new(exitKinds, counters);

        public EngineStats Closed { get; } = new(exitKinds, counters);
    }

    public void StartPhase(string name)
    {
        EndPhase();
        _phase = name;
        _phaseStart = Stats.Clone();
        _phasePeak = Stats.ShadowPages;
    }

    public void EndPhase()
    {
        if (_phase is null || _phaseStart is null)
        {
            return;
        }

        var delta = Stats.Minus(_phaseStart);
        delta.ShadowPagesPeak = _phasePeak;
        if (_phases.TryGetValue(_phase, out var acc))
        {
            acc.Add(delta);
        }
        else
        {
            _phases[_phase] = delta;
            _phaseOrder.Add(_phase);
        }

        _phase = null;
    }

    public void EndWindow(long window, long lastEvent, long? timeNs)
    {
        var delta = Stats.Minus(_windowStart);
        delta.ShadowPagesPeak = _windowPeak;
        if (delta.Events > 0)
        {
            _windows.Add(new WindowResult(window, _windowFirst, lastEvent, timeNs, delta));
        }

        _windowStart = Stats.Clone();
        _windowFirst = lastEvent + 1;
        _windowPeak = Stats.ShadowPages;
    }

    /// <summary>The run's result; its windows are the log's, complete (no window follows).</summary>
    public EngineRunResult ToResult()
    {
        _windows.Complete();
        return new EngineRunResult(
            Spec.CanonicalName,
            Spec.IsNative,
            Reported,
            Engine.ExitKinds,
            Engine.CounterNames,
            Counted(),
            _phaseOrder.Select(p => new PhaseResult(p, _phases[p])).ToList(),
            _windows,
            Ticks / (double)System.Diagnostics.Stopwatch.Frequency)
        {
            Vcpus = PerVcpu(),
        };
    }

    /// <summary>The replay failed or was cancelled: the windows written so far are dropped (a spilled log's file goes).</summary>
    public void Abandon() => _windows.Dispose();
}
