namespace Replay.Engines.Caches;

/// <summary>Where a memory reference was served: the first cache level that held its line, or memory.</summary>
public enum ServedBy : byte
{
    L1 = 0,
    L2 = 1,
    L3 = 2,
    Memory = 3,
}

/// <summary>
/// A small model of the data-cache hierarchy one engine's guest runs on, used to price page-walk references by where
/// they are served. Every data access of the trace brings its line in (so page-table lines compete with the
/// workload's data, as they do in a real cache), and every page-walk reference asks for the line of the entry it
/// reads: paging-structure lines of the upper levels, reused by every walk, stay close; leaf lines of a large working
/// set mostly do not. L1D and L2 are per vCPU, the last level is shared. Instruction fetches skip the L1D (they go to
/// the L1I, which is not modelled) and are looked up from L2 on. The hypervisor's own memory traffic is not modelled.
/// </summary>
public sealed class MemoryHierarchy
{
    private readonly LineCache?[] _l1;
    private readonly LineCache?[] _l2;
    private readonly LineCache? _l3;

    public MemoryHierarchy(CacheGeometry geometry, int vcpus)
    {
        Geometry = geometry;
        int n = Math.Max(1, vcpus);
        _l1 = new LineCache?[n];
        _l2 = new LineCache?[n];
        for (int v = 0; v < n; v++)
        {
            _l1[v] = geometry.L1d is { } l1 ? new LineCache(l1) : null;
            _l2[v] = geometry.L2 is { } l2 ? new LineCache(l2) : null;
        }

        _l3 = geometry.L3 is { } l3 ? new LineCache(l3) : null;
    }

    public CacheGeometry Geometry { get; }

    /// <summary>
    /// A working set of <paramref name="lines"/> consecutive lines per vCPU that stays resident in the first level
    /// below the L1D (its L2, or the shared L3 when there is none): those ways are not offered to the trace's lines.
    /// </summary>
    public void ReserveResident(long lines)
    {
        if (_l2[0] is not null)
        {
            foreach (var l2 in _l2)
            {
                l2!.Reserve(lines);
            }
        }
        else
        {
            _l3?.Reserve(lines * _l1.Length);
        }
    }

    /// <summary>
    /// A line <paramref name="vcpu"/>'s unlisted work brings into its L1D and never asks for again (see
    /// <see cref="PressureSource"/>); with <paramref name="allLevels"/> it missed every level and is brought into each.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Dead(int vcpu, ulong line, bool allLevels)
    {
        _l1[vcpu]?.AddDead(line);
        if (allLevels)
        {
            _l2[vcpu]?.AddDead(line);
            _l3?.AddDead(line);
        }
    }

    /// <summary>A data load or store (or a page-walk reference) by <paramref name="vcpu"/> at host-physical <paramref name="address"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public ServedBy Data(int vcpu, ulong address)
    {
        ulong line = address >> 6;
        if (_l1[vcpu]?.Access(line) == true)
        {
            return ServedBy.L1;
        }

        return Beyond(vcpu, line);
    }

    /// <summary>An instruction fetch by <paramref name="vcpu"/>: looked up from the L2 on.</summary>
    public ServedBy Instruction(int vcpu, ulong address) => Beyond(vcpu, address >> 6);

    private ServedBy Beyond(int vcpu, ulong line)
    {
        if (_l2[vcpu]?.Access(line) == true)
        {
            return ServedBy.L2;
        }

        return _l3?.Access(line) == true ? ServedBy.L3 : ServedBy.Memory;
    }
}
