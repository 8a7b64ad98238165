namespace Replay.Engines.Trace;

/// <summary>
/// What a trace says about the guest it was recorded on (SPEC §1 metadata), with the documented defaults
/// for anything missing: memory 4 GiB, 4 paging levels, PCID off, vCPUs from the data.
/// </summary>
public sealed record TraceInfo
{
    public const ulong DefaultMemoryBytes = 4UL << 30;

    /// <summary>
    /// The most vCPUs a trace may have: x86 KVM's <c>KVM_MAX_VCPUS</c> (1024 since Linux 5.15, commit 074c82c8f7cf
    /// "kvm: x86: Increase MAX_VCPUS to 1024"; Xen HVM guests have at most 128). Every engine keeps TLBs and caches
    /// per vCPU, so a count taken on trust from one stray <c>vcpu</c> value (up to 65,535) or from metadata would
    /// size gigabytes of state; a trace asking for more is refused with the row or key named.
    /// </summary>
    public const int MaxVcpus = 1024;

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
