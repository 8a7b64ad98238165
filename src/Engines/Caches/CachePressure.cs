namespace Replay.Engines.Caches;

/// <summary>
/// What the guest's unlisted work does to the caches: the instructions a trace carries in <c>insns</c> also touch
/// data, whose lines evict page-table lines. <see cref="L1dMissesPerKiloInsn"/> and <see cref="LlcMissesPerKiloInsn"/>
/// are the workload's measured L1D and last-level-cache misses per 1,000 instructions, over data of
/// <see cref="FootprintBytes"/>. Every L1D miss brings a line of that data into the L1D; the share that also misses the
/// last level (LLC/L1D) brings it into every level. The footprints measured (112 MiB for cc1, 247 MiB for SQLite's
/// table) are many times any last-level cache modelled, so those lines are taken as never asked for again (dead).
/// The rest are served by a lower level from the workload's resident data, taken as a region of
/// <see cref="NearBytes"/> that the L2 keeps: it holds those ways, so they evict page-table lines from L1 only. Zero
/// for traces that list every access (imports), whose data lines reach the caches themselves.
/// </summary>
public sealed record CachePressure(double L1dMissesPerKiloInsn, double LlcMissesPerKiloInsn, ulong FootprintBytes)
{
    /// <summary>The resident region serving the L1D misses that hit a lower level: 128 KiB, more than any L1D and less than any L2 modelled.</summary>
    public const ulong NearBytes = 128 << 10;

    public static readonly CachePressure None = new(0, 0, 0);

    public bool Any => L1dMissesPerKiloInsn > 0 && FootprintBytes >= CacheLevelGeometry.LineBytes;
}

/// <summary>
/// Applies a <see cref="CachePressure"/> to one engine's hierarchy. The resident region is reserved in every vCPU's L2
/// when the machine is built. Then, for every instruction an event carries, the expected number of L1D misses is owed,
/// and each whole miss is a dead line in a set drawn at random: in the L1D only, or (the LLC share) in every level. The
/// dead lines are counted per set and applied when the set is next looked up (<see cref="LineCache"/>), so a miss costs
/// a few instructions, not a lookup. A fixed-seed generator draws the same sets for every engine, so engines differ
/// only by their own tables.
/// </summary>
public sealed class PressureSource
{
    private readonly MemoryHierarchy _caches;
    private readonly double _perInsn;
    private readonly ulong _farShare;
    private readonly double[] _owed;
    private ulong _state = 0x9E37_79B9_7F4A_7C15UL;

    public PressureSource(MemoryHierarchy caches, CachePressure pressure, int vcpus)
    {
        _caches = caches;
        _perInsn = pressure.L1dMissesPerKiloInsn / 1000.0;
        double far = Math.Clamp(pressure.LlcMissesPerKiloInsn / pressure.L1dMissesPerKiloInsn, 0, 1);
        _farShare = (ulong)(far * ulong.MaxValue);
        _owed = new double[Math.Max(1, vcpus)];
        caches.ReserveResident((long)(CachePressure.NearBytes / CacheLevelGeometry.LineBytes));
    }

    /// <summary><paramref name="vcpu"/> retired <paramref name="insns"/> unlisted instructions.</summary>
    public void Retired(int vcpu, uint insns)
    {
        double owed = _owed[vcpu] + (insns * _perInsn);
        int misses = (int)owed;
        _owed[vcpu] = owed - misses;
        for (int i = 0; i < misses; i++)
        {
            bool far = Next() < _farShare;
            _caches.Dead(vcpu, Next() >> 24, far); // the high bits: a line number whose low bits pick the sets
        }
    }

    private ulong Next()
    {
        // xorshift64*: cheap, and the same sequence for every engine.
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return _state * 0x2545_F491_4F6C_DD1DUL;
    }
}
