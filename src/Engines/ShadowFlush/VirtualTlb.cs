using Replay.Engines.Paging;

namespace Replay.Engines.ShadowFlush;

/// <summary>One shadow leaf entry: a 4 KiB translation derived from the guest's tables.</summary>
internal struct ShadowLeaf
{
    public ulong Frame;

    /// <summary>The guest's effective permissions the entry was derived from.</summary>
    public Perms Guest;

    /// <summary>Writable in the shadow: guest-writable and the guest leaf's D bit set (dirty tracking).</summary>
    public bool HwWritable;

    public bool Global;

    /// <summary>Size of the guest page the entry was splintered from (12, 21 or 30).</summary>
    public byte GuestPageShift;
}

/// <summary>
/// One vCPU's shadow page table under flush-on-switch shadow paging: the leaf entries it holds and the shadow
/// table pages (per level, identified by the va range they map) that hold them. The root page exists from
/// the vCPU's first use and is reused (emptied) at every flush.
/// </summary>
internal sealed class VirtualTlb(int levels)
{
    private readonly HashSet<ulong>[] _pages = Enumerable.Range(0, levels).Select(_ => new HashSet<ulong>()).ToArray();

    public Dictionary<ulong, ShadowLeaf> Leaves { get; } = new();

    public bool HasRoot { get; set; }

    /// <summary>Shadow table pages in use, root included.</summary>
    public long Pages => (HasRoot ? 1 : 0) + _lowerPages;

    private long _lowerPages;

    public int Levels { get; } = levels;

    /// <summary>Key of the level-<paramref name="level"/> shadow page (1 = L1/PT) that maps <paramref name="va"/>.</summary>
    public static ulong PageKey(ulong va, int level) => (va & Pte.VaMask) >> Pte.Shift(level + 1);

    public static ulong Vpn(ulong va) => (va & Pte.VaMask) >> Pte.PageShift;

    public bool HasPage(ulong va, int level) => _pages[level].Contains(PageKey(va, level));

    /// <summary>Creates the shadow pages below the root that <paramref name="va"/> needs; returns how many were new.</summary>
    public int EnsurePath(ulong va)
    {
        int created = 0;
        for (int level = Levels - 1; level >= 1; level--)
        {
            if (_pages[level].Add(PageKey(va, level)))
            {
                created++;
            }
        }

        _lowerPages += created;
        return created;
    }

    /// <summary>Empties the shadow (keeping global leaves and their pages if asked); returns the leaves dropped.</summary>
    public int Clear(bool keepGlobal)
    {
        int before = Leaves.Count;
        foreach (var p in _pages)
        {
            p.Clear();
        }

        _lowerPages = 0;

        if (!keepGlobal)
        {
            Leaves.Clear();
            return before;
        }

        foreach (var (vpn, leaf) in Leaves)
        {
            if (!leaf.Global)
            {
                Leaves.Remove(vpn);
            }
        }

        foreach (var vpn in Leaves.Keys)
        {
            EnsurePath(vpn << Pte.PageShift);
        }

        return before - Leaves.Count;
    }
}
