namespace Replay.Engines.Contract;

/// <summary>
/// One MMU-virtualization strategy. The replay loop calls exactly one of its <see cref="IEngineHooks"/> per
/// trace event, in trace order: <c>Access</c> for read/write/fetch, <c>LoadCr3</c>, <c>WritePageTable</c> for
/// ptwrite and ptinit, <c>Invalidate</c> for invlpg and flush, <c>TableDying</c> for ptdying.
/// <c>mark</c> events never reach the engine. Engines count into <see cref="Stats"/> and never compute cycles.
/// Each engine owns its guest machine (guest memory evolves per engine because A/D updates differ).
/// </summary>
public interface IMmuEngine : IEngineHooks
{
    /// <summary>Every exit kind the engine can take; <see cref="EngineStats.ExitCounts"/> is indexed by it.</summary>
    IReadOnlyList<ExitKind> ExitKinds { get; }

    /// <summary>Names of engine-specific counters (Xen/KVM names where one exists).</summary>
    IReadOnlyList<string> CounterNames { get; }

    /// <summary>
    /// Everything counted so far, cumulative from the engine's creation; the driver snapshots and subtracts it for
    /// phases and timeline windows, so an engine only ever adds to it (levels such as shadow pages excepted).
    /// </summary>
    EngineStats Stats { get; }

    /// <summary>
    /// Replays events [start, end) of a batch through this engine. Implementations call
    /// <c>ReplayLoop.Run(new Hooks(this), ...)</c> with a struct forwarding to their own sealed methods (written by
    /// <see cref="GenerateHooksAttribute"/>, or a part's), so the loop is compiled once per engine with direct calls.
    /// </summary>
    void Run(Trace.EventBatch batch, int start, int end, bool verify);
}
