namespace Replay.Engines.Trace;

/// <summary>
/// What a trace says about the guest it was recorded on (SPEC §1 metadata), with the documented defaults
/// for anything missing: memory 4 GiB, 4 paging levels, PCID off, vCPUs from the data.
/// </summary>
public sealed record TraceInfo
{
    public const ulong DefaultMemoryBytes = 4UL << 30;

    public int Vcpus { get; init; } = 1;
    public ulong MemoryBytes { get; init; } = DefaultMemoryBytes;
    public int PagingLevels { get; init; } = 4;
    public bool Pcid { get; init; }
    public string Source { get; init; } = "";

    /// <summary>The cache pressure of the work the trace carries in <c>insns</c> (<c>replay.guest.cache_pressure</c>); none by default.</summary>
    public Caches.CachePressure Pressure { get; init; } = Caches.CachePressure.None;

    /// <summary>Marker id → label, from <c>replay.markers</c>.</summary>
    public IReadOnlyDictionary<ulong, string> Markers { get; init; } = new Dictionary<ulong, string>();
}
