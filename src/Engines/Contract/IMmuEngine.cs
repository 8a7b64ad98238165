using Replay.Engines.Guest;

namespace Replay.Engines.Contract;

/// <summary>
/// One MMU-virtualization strategy. The driver calls exactly one hook per trace event, in trace order:
/// <see cref="Access"/> for read/write/fetch, <see cref="LoadCr3"/>, <see cref="WritePageTable"/> for
/// ptwrite and ptinit, <see cref="Invalidate"/> for invlpg and flush, <see cref="TableDying"/> for ptdying.
/// <c>mark</c> events never reach the engine. Engines count into <see cref="Stats"/> and never compute cycles.
/// Each engine owns its guest machine (guest memory evolves per engine because A/D updates differ).
/// </summary>
public interface IMmuEngine
{
    /// <summary>Every exit kind the engine can take; <see cref="EngineStats.ExitCounts"/> is indexed by it.</summary>
    IReadOnlyList<ExitKind> ExitKinds { get; }

    /// <summary>Names of engine-specific counters (Xen/KVM names where one exists).</summary>
    IReadOnlyList<string> CounterNames { get; }

    EngineStats Stats { get; }

    GuestMachine Machine { get; }

    /// <summary>Performs an access and returns the translation it used (or a guest fault).</summary>
    Translation Access(in MemoryAccess access);

    void LoadCr3(in Cr3Load load);

    void WritePageTable(in PageTableWrite write);

    void Invalidate(in Invalidation inv);

    void TableDying(in TableDying hint);

    /// <summary>
    /// Replays events [start, end) of a batch through this engine. Implementations call
    /// <c>ReplayLoop.Run(this, ...)</c> so the loop is specialised for the sealed engine type.
    /// </summary>
    void Run(Trace.EventBatch batch, int start, int end, bool verify);
}
