namespace Replay.Engines.Caches;

/// <summary>
/// What the guest's unlisted work does to the caches: the instructions a trace carries in <c>insns</c> also touch
/// data, whose lines evict page-table lines. <see cref="L1dMissesPerKiloInsn"/> and <see cref="LlcMissesPerKiloInsn"/>
/// are the workload's measured L1D and last-level-cache misses per 1,000 instructions. The L1D misses that also miss
/// the last level are lines drawn uniformly from the workload's data (<see cref="FootprintBytes"/>); the others come
/// from a small region that L2 holds (<see cref="NearBytes"/>), so they evict page-table lines from L1 only. Zero for
/// traces that list every access (imports), whose data lines reach the caches themselves.
/// </summary>
public sealed record CachePressure(double L1dMissesPerKiloInsn, double LlcMissesPerKiloInsn, ulong FootprintBytes)
{
    /// <summary>The region of the L1D misses that hit a lower level: 128 KiB, more than any L1D and less than any L2 modelled.</summary>
    public const ulong NearBytes = 128 << 10;

    public static readonly CachePressure None = new(0, 0, 0);

    public bool Any => L1dMissesPerKiloInsn > 0 && FootprintBytes >= CacheLevelGeometry.LineBytes;
}

/// <summary>
/// Applies a <see cref="CachePressure"/> to one engine's hierarchy: for every instruction an event carries, the
/// expected number of L1D misses is owed, and each whole miss asks for one line of the per-vCPU pressure region. A
/// fixed-seed generator makes the same lines reach every engine's caches, so engines differ only by their own tables.
/// </summary>
public sealed class PressureSource
{
    private const ulong Region = 4UL << 60;
    private const ulong NearRegion = 5UL << 60;
    private readonly MemoryHierarchy _caches;
    private readonly double _perInsn;
    private readonly ulong _farShare;
    private readonly ulong _lines;
    private readonly double[] _owed;
    private ulong _state = 0x9E37_79B9_7F4A_7C15UL;

    public PressureSource(MemoryHierarchy caches, CachePressure pressure, int vcpus)
    {
        _caches = caches;
        _perInsn = pressure.L1dMissesPerKiloInsn / 1000.0;
        double far = Math.Clamp(pressure.LlcMissesPerKiloInsn / pressure.L1dMissesPerKiloInsn, 0, 1);
        _farShare = (ulong)(far * ulong.MaxValue);
        _lines = pressure.FootprintBytes / CacheLevelGeometry.LineBytes;
        _owed = new double[Math.Max(1, vcpus)];
    }

    /// <summary><paramref name="vcpu"/> retired <paramref name="insns"/> unlisted instructions.</summary>
    public void Retired(int vcpu, uint insns)
    {
        double owed = _owed[vcpu] + (insns * _perInsn);
        int misses = (int)owed;
        _owed[vcpu] = owed - misses;
        ulong far = Region | ((ulong)vcpu << 52);
        ulong near = NearRegion | ((ulong)vcpu << 52);
        const ulong NearLines = CachePressure.NearBytes / CacheLevelGeometry.LineBytes;
        for (int i = 0; i < misses; i++)
        {
            ulong r = Next();
            ulong address = r < _farShare ? far | (Next() % _lines * CacheLevelGeometry.LineBytes) : near | (Next() % NearLines * CacheLevelGeometry.LineBytes);
            _caches.Data(vcpu, address);
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
