using Replay.Engines.Tlb;

namespace Replay.Engines.Guest;

/// <summary>The guest machine an engine replays on: from the trace metadata and the cost profile's geometry.</summary>
public sealed record MachineConfig(int Vcpus, ulong MemoryBytes, int PagingLevels, bool Pcid, TlbGeometry Tlb)
{
    /// <summary>The cache pressure of the guest's unlisted work (the trace's <c>replay.guest.cache_pressure</c>).</summary>
    public Caches.CachePressure Pressure { get; init; } = Caches.CachePressure.None;

    public static MachineConfig Default(int vcpus = 1, int levels = 4, bool pcid = false) =>
        new(vcpus, 4UL << 30, levels, pcid, TlbGeometry.Default);
}
