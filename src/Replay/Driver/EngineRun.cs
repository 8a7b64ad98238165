using Replay.Analysis.Reports;
using Replay.Engines.Contract;
using Replay.Engines.Registry;

namespace Replay.Driver;

/// <summary>One engine's replay of one trace: the engine plus the driver's phase and timeline bookkeeping.</summary>
internal sealed class EngineRun(EngineSpec spec, IMmuEngine engine, bool reported)
{
    private readonly List<string> _phaseOrder = [];
    private readonly Dictionary<string, EngineStats> _phases = new(StringComparer.Ordinal);
    private readonly List<WindowResult> _windows = [];
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

    public EngineRunResult ToResult() => new(
        Spec.CanonicalName,
        Spec.IsNative,
        Reported,
        Engine.ExitKinds,
        Engine.CounterNames,
        Counted(),
        _phaseOrder.Select(p => new PhaseResult(p, _phases[p])).ToList(),
        _windows,
        Ticks / (double)System.Diagnostics.Stopwatch.Frequency);
}
