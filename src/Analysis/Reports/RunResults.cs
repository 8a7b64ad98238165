using Replay.Engines.Contract;

namespace Replay.Analysis.Reports;

/// <summary>Counts of one named phase (from <c>mark</c> events).</summary>
public sealed record PhaseResult(string Phase, EngineStats Stats);

/// <summary>One timeline window: <see cref="Stats"/> are the counts within the window; <c>Stats.ShadowPages</c> is the level at its end.</summary>
public sealed record WindowResult(long Window, long FirstEvent, long LastEvent, long? TimeNs, EngineStats Stats);

/// <summary>
/// One vCPU's counts in one phase (<c>all</c> or a named one): what the events of that vCPU made, including the VM-wide
/// work they caused (a shadow page an access of this vCPU built, an exit its write took). Over the vCPUs of a phase
/// every count sums to the phase's. <c>Stats.ShadowPages</c> and <c>ShadowPagesPeak</c> are the VM's, not the vCPU's.
/// </summary>
public sealed record VcpuResult(string Phase, int Vcpu, EngineStats Stats);

/// <summary>
/// One engine's replay of one trace. <see cref="Engine"/> is the canonical name (<c>shadow-flush:keep_global=true</c>);
/// <see cref="All"/> is phase <c>all</c>; <see cref="Phases"/> are the named phases, possibly none. <see cref="Windows"/>
/// are the timeline windows in order, possibly read back one at a time from a file each time they are enumerated
/// (a replay at <c>--window 1</c> does not hold them in memory).
/// </summary>
public sealed record EngineRunResult(
    string Engine,
    bool IsNative,
    bool Reported,
    IReadOnlyList<ExitKind> ExitKinds,
    IReadOnlyList<string> CounterNames,
    EngineStats All,
    IReadOnlyList<PhaseResult> Phases,
    IReadOnlyCollection<WindowResult> Windows,
    double ReplaySeconds)
{
    /// <summary>Per-vCPU counts, phase <c>all</c>'s first then each named phase's, vCPUs in ascending order; empty when not kept.</summary>
    public IReadOnlyList<VcpuResult> Vcpus { get; init; } = [];
}

/// <summary>
/// Every engine's replay of one trace. <see cref="Engines"/> always holds exactly one <c>IsNative</c> run, the
/// baseline of every overhead; it has <c>Reported</c> = false when the user did not ask for native.
/// </summary>
public sealed record TraceRunResult(string Trace, string TraceSha256, IReadOnlyList<EngineRunResult> Engines);

/// <summary>Where a report came from, written into every report file's metadata (SPEC §5).</summary>
public sealed record ReportProvenance(string Version, string Commit, string Command, string TraceSha256);
