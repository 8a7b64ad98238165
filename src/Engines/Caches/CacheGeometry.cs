namespace Replay.Engines.Caches;

/// <summary>One set-associative cache level: <see cref="Kib"/> KiB of 64-byte lines in sets of <see cref="Ways"/>.</summary>
public sealed record CacheLevelGeometry(int Kib, int Ways)
{
    /// <summary>Bytes per line on every modelled CPU.</summary>
    public const int LineBytes = 64;

    public int Lines => Kib * 1024 / LineBytes;

    public int Sets => Lines / Ways;
}

/// <summary>
/// The data-cache hierarchy that serves page-walk references (SPEC §4: walk references are priced by where they are
/// served): a first-level data cache and a second-level cache per vCPU, and a last-level cache shared by the vCPUs.
/// A null level is absent (the Pentium 4 has no L3). Only the hierarchy's shape is here; its latencies are costs and
/// live in the cost profile.
/// </summary>
public sealed record CacheGeometry
{
    public CacheLevelGeometry? L1d { get; init; }

    public CacheLevelGeometry? L2 { get; init; }

    public CacheLevelGeometry? L3 { get; init; }

    /// <summary>A Skylake-client-like default (32 KiB 8-way, 256 KiB 4-way, 8 MiB 16-way) for tests that do not care.</summary>
    public static readonly CacheGeometry Default = new()
    {
        L1d = new(32, 8),
        L2 = new(256, 4),
        L3 = new(8192, 16),
    };
}
