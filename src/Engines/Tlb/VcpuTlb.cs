using Replay.Engines.Paging;

namespace Replay.Engines.Tlb;

/// <summary>
/// A vCPU's TLB hierarchy (SPEC §2): first-level data and instruction arrays per page size, then a unified
/// second-level TLB. A miss in both levels is a TLB miss and costs a page walk. A translation whose page size
/// a level has no array for is cached there fractured into the largest smaller size it has (or not at all in
/// the STLB, as Nehalem's 4 KiB-only STLB does with 2 MiB pages).
/// </summary>
public sealed class VcpuTlb
{
    private readonly TlbArrayCache?[] _l1d = new TlbArrayCache?[3];
    private readonly TlbArrayCache?[] _l1i = new TlbArrayCache?[3];
    private readonly TlbArrayCache?[] _stlb = new TlbArrayCache?[3];
    private readonly List<TlbArrayCache> _all = [];

    // The last first-level hit per side (0 data, 1 instruction): its 4 KiB page and PCID, and what it returned.
    // Consecutive accesses to one page are the common case; answering them from here skips the probe. That is exact:
    // the entry is already the most recent in its array (any other lookup on that side replaces the memo), so the
    // probe would only restamp it, and any change to the arrays (insert, invalidation, flush) drops the memo.
    private readonly ulong[] _memoPage = [ulong.MaxValue, ulong.MaxValue];
    private readonly ushort[] _memoPcid = new ushort[2];
    private readonly TlbHit[] _memoHit = new TlbHit[2];

    public VcpuTlb(TlbGeometry g)
    {
        _l1d[0] = Make(g.L1d4K, Pte.PageShift);
        _l1d[1] = Make(g.L1d2M, Pte.LargePageShift);
        _l1d[2] = Make(g.L1d1G, Pte.HugePageShift);
        _l1i[0] = Make(g.L1i4K, Pte.PageShift);
        _l1i[1] = Make(g.L1i2M, Pte.LargePageShift);
        if (g.Stlb is not null)
        {
            // 4 KiB and 2 MiB translations share the STLB's entries (Haswell to Skylake); 1 GiB ones, where
            // held, sit in an array of their own (Ice Lake's second STLB array).
            _stlb[0] = Make(g.Stlb, Pte.PageShift, g.Stlb2M ? Pte.LargePageShift : 0);
            _stlb[1] = g.Stlb2M ? _stlb[0] : null;
            _stlb[2] = g.Stlb1G ? Make(g.Stlb, Pte.HugePageShift) : null;
        }
    }

    /// <summary>Hits served by the second level (after a first-level miss).</summary>
    public long StlbHits { get; private set; }

    /// <summary>Looks the va up in the first level for this access kind, then the STLB (refilling the first level).</summary>
    public bool Lookup(ulong va, ushort pcid, AccessKind kind, out TlbHit hit)
    {
        int side = kind == AccessKind.Fetch ? 1 : 0;
        ulong page = va >> Pte.PageShift;
        if (_memoPage[side] == page && _memoPcid[side] == pcid)
        {
            hit = _memoHit[side];
            return true;
        }

        var l1 = side == 1 ? _l1i : _l1d;
        for (int s = 0; s < 3; s++)
        {
            if (l1[s] is { } a && a.Lookup(va, pcid, out hit))
            {
                _memoPage[side] = page;
                _memoPcid[side] = pcid;
                _memoHit[side] = hit;
                return true;
            }
        }

        _memoPage[side] = ulong.MaxValue; // a first-level miss: a refill below changes this side's first level

        for (int s = 0; s < 3; s += s == 0 && _stlb[1] == _stlb[0] ? 2 : 1)
        {
            if (_stlb[s] is { } a && a.Lookup(va, pcid, out hit))
            {
                StlbHits++;
                int shift = hit.Shift;
                Fill(l1, va, pcid, shift, hit.Frame & ~((1UL << shift) - 1), hit.HwPerms, hit.GuestPerms, hit.Dirty, hit.Global, hit.OrigShift);
                // (an STLB entry is refilled into L1 at the STLB entry's size; a fractured STLB entry stays fractured
                // and keeps the size of its original page, so INVLPG anywhere in that page still drops it)
                return true;
            }
        }

        hit = default;
        return false;
    }

    /// <summary>Caches a translation of a page of size 2^<paramref name="pageShift"/> at <paramref name="pageBase"/> in both levels.</summary>
    public void Insert(ulong va, ushort pcid, AccessKind kind, int pageShift, ulong pageBase, Perms hw, Perms guest, bool dirty, bool global)
    {
        ForgetHits();
        Fill(kind == AccessKind.Fetch ? _l1i : _l1d, va, pcid, pageShift, pageBase, hw, guest, dirty, global);
        int s = SizeIndex(pageShift);
        if (_stlb[s] is { } st)
        {
            st.Insert(va, pcid, pageBase, hw, guest, dirty, global, pageShift, pageShift);
        }
        else if (s == 2 && _stlb[1] is { } st2)
        {
            // A 1 GiB page in an STLB that holds 2 MiB entries but not 1 GiB ones is fractured to 2 MiB.
            st2.Insert(va, pcid, Fracture(va, pageBase, pageShift, Pte.LargePageShift), hw, guest, dirty, global, pageShift, Pte.LargePageShift);
        }
    }

    /// <summary>
    /// Caches a translation of a 2^<paramref name="pageShift"/> page as entries no larger than 2^<paramref name="maxEntryShift"/>:
    /// under EPT a combined mapping is no larger than the EPT page that backs it (splintering). Each piece keeps the
    /// size of the guest page, so INVLPG anywhere in that page drops every piece, as for fractured entries.
    /// </summary>
    public void InsertSplintered(ulong va, ushort pcid, AccessKind kind, int pageShift, ulong pageBase, int maxEntryShift,
        Perms hw, Perms guest, bool dirty, bool global)
    {
        ForgetHits();
        if (maxEntryShift >= pageShift)
        {
            Insert(va, pcid, kind, pageShift, pageBase, hw, guest, dirty, global);
            return;
        }

        ulong pieceBase = Fracture(va, pageBase, pageShift, maxEntryShift);
        Fill(kind == AccessKind.Fetch ? _l1i : _l1d, va, pcid, maxEntryShift, pieceBase, hw, guest, dirty, global, pageShift);
        if (_stlb[SizeIndex(maxEntryShift)] is { } st)
        {
            st.Insert(va, pcid, pieceBase, hw, guest, dirty, global, pageShift, maxEntryShift);
        }
    }

    /// <summary>INVLPG for <paramref name="va"/> in <paramref name="pcid"/> (global entries for it too), every page size.</summary>
    public void InvalidatePage(ulong va, ushort pcid)
    {
        ForgetHits();
        foreach (var a in _all)
        {
            a.InvalidatePage(va, pcid);
        }
    }

    /// <summary>Drops non-global entries of one PCID (null: of every PCID); with <paramref name="includeGlobal"/> drops everything matched plus all globals.</summary>
    public void Flush(ushort? pcid, bool includeGlobal)
    {
        ForgetHits();
        foreach (var a in _all)
        {
            a.Flush(pcid, includeGlobal);
        }
    }

    private void ForgetHits()
    {
        _memoPage[0] = ulong.MaxValue;
        _memoPage[1] = ulong.MaxValue;
    }

    private static void Fill(TlbArrayCache?[] l1, ulong va, ushort pcid, int pageShift, ulong pageBase, Perms hw, Perms guest, bool dirty, bool global,
        int origShift = 0)
    {
        for (int s = SizeIndex(pageShift); s >= 0; s--)
        {
            if (l1[s] is { } a)
            {
                a.Insert(va, pcid, Fracture(va, pageBase, pageShift, a.PageShift), hw, guest, dirty, global, Math.Max(pageShift, origShift));
                return;
            }
        }
    }

    private static ulong Fracture(ulong va, ulong pageBase, int pageShift, int toShift) =>
        pageBase + (va & ((1UL << pageShift) - 1) & ~((1UL << toShift) - 1));

    private static int SizeIndex(int pageShift) => pageShift switch { Pte.PageShift => 0, Pte.LargePageShift => 1, _ => 2 };

    private TlbArrayCache? Make(TlbArray? g, int shift, int altShift = 0)
    {
        if (g is null)
        {
            return null;
        }

        var a = new TlbArrayCache(g, shift, altShift);
        _all.Add(a);
        return a;
    }
}
