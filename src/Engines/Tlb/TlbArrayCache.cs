using Replay.Engines.Paging;

namespace Replay.Engines.Tlb;

/// <summary>
/// One set-associative TLB array for one page size, or shared by two (an STLB holding 4 KiB and 2 MiB entries:
/// each size indexes its own set by its own page number, and both compete for the same entries), LRU within a set. Entries are tagged by virtual page
/// number and PCID; a global entry matches every PCID. Stored per entry: the page's guest-physical base, the
/// permissions hardware enforces (<see cref="TlbHit.HwPerms"/>), the guest permissions the engine reports for
/// verification, the D bit, the G bit, and the size of the page the entry was cut from.
/// Flushes are O(1): every entry carries its LRU stamp, which is also its age, and a flush records the clock;
/// an entry stamped before the flush that covers it is dead (and, being oldest, the first LRU victim).
/// </summary>
internal sealed class TlbArrayCache
{
    private const ulong Invalid = ulong.MaxValue;
    private const byte Global = 1;
    private const byte Dirty = 2;
    private readonly int _sets;
    private readonly int _ways;
    private readonly ulong _setMask;
    private readonly bool _pow2;
    private readonly Entry[] _e;
    private readonly long[] _pcidFlushedAt = new long[4096];
    private long _nonGlobalFlushedAt;
    private long _allFlushedAt;
    private long _clock = 1;
    private bool _holdsFractured;

    public TlbArrayCache(TlbArray geometry, int pageShift, int altShift = 0)
    {
        AltShift = altShift;
        _ways = geometry.Ways;
        _sets = Math.Max(1, geometry.Entries / geometry.Ways);
        _pow2 = (_sets & (_sets - 1)) == 0;
        _setMask = (ulong)_sets - 1;
        PageShift = pageShift;
        _e = new Entry[_sets * _ways];
        for (int i = 0; i < _e.Length; i++)
        {
            _e[i].Vpn = Invalid;
        }
    }

    public int PageShift { get; }

    /// <summary>The second page size a shared array holds (0 when it holds one size).</summary>
    public int AltShift { get; }

    /// <summary>False until the first insert: lookups in an array that never held anything are skipped.</summary>
    public bool Used { get; private set; }

    // False until the first entry of the second size (AltShift) is inserted: until then no probe at that size can match.
    private bool _altUsed;

    public bool Lookup(ulong va, ushort pcid, out TlbHit hit)
    {
        if (!Used)
        {
            hit = default;
            return false;
        }

        return Probe(va, pcid, PageShift, out hit) || (_altUsed && Probe(va, pcid, AltShift, out hit));
    }

    private bool Probe(ulong va, ushort pcid, int shift, out TlbHit hit)
    {
        ulong vpn = va >> shift;
        int first = SetStart(vpn);
        var set = _e.AsSpan(first, _ways);
        for (int i = 0; i < set.Length; i++)
        {
            ref var e = ref set[i];
            if (e.Vpn == vpn && e.Size == shift && Live(ref e, pcid))
            {
                e.Stamp = ++_clock;
                hit = new TlbHit(true, e.Base + (va & ((1UL << shift) - 1) & ~Pte.PageOffsetMask), e.Hw, e.Guest,
                    (e.Flags & Dirty) != 0, (e.Flags & Global) != 0, (byte)shift, e.OrigShift > shift ? e.OrigShift : (byte)0);
                return true;
            }
        }

        hit = default;
        return false;
    }

    /// <summary>
    /// Inserts (or overwrites) the entry for <paramref name="va"/>; <paramref name="pageBase"/> is aligned to this
    /// entry's size <paramref name="shift"/> (0: this array's <see cref="PageShift"/>); <paramref name="origShift"/> is the
    /// size of the translation it came from (larger when fractured).
    /// </summary>
    public void Insert(ulong va, ushort pcid, ulong pageBase, Perms hw, Perms guest, bool dirty, bool global, int origShift = 0, int shift = 0)
    {
        Used = true;
        shift = shift == 0 ? PageShift : shift;
        _altUsed |= shift == AltShift && shift != PageShift;
        ulong vpn = va >> shift;
        int first = SetStart(vpn);
        var set = _e.AsSpan(first, _ways);
        int victim = 0;
        for (int i = 0; i < set.Length; i++)
        {
            // Reuse the slot of the same page (live or dead) or an empty one; otherwise evict the oldest,
            // which is also where flushed entries end up.
            ref var e = ref set[i];
            if ((e.Vpn == vpn && e.Size == shift && (e.Pcid == pcid || (e.Flags & Global) != 0)) || e.Vpn == Invalid)
            {
                victim = i;
                break;
            }

            if (e.Stamp < set[victim].Stamp)
            {
                victim = i;
            }
        }

        set[victim] = new Entry
        {
            Vpn = vpn,
            Base = pageBase,
            Stamp = ++_clock,
            Pcid = pcid,
            Flags = (byte)((global ? Global : 0) | (dirty ? Dirty : 0)),
            Size = (byte)shift,
            OrigShift = (byte)Math.Max(origShift, shift),
            Hw = hw,
            Guest = guest,
        };
        _holdsFractured |= origShift > shift;
    }

    /// <summary>
    /// INVLPG semantics: drops the entry for <paramref name="va"/> in <paramref name="pcid"/> and any global entry
    /// for it, and every piece fractured from a larger page that contains <paramref name="va"/> (those sit in
    /// other sets, so the array is scanned when it holds any).
    /// </summary>
    public void InvalidatePage(ulong va, ushort pcid)
    {
        Drop(va, pcid, PageShift);
        if (_altUsed)
        {
            Drop(va, pcid, AltShift);
        }

        if (!_holdsFractured)
        {
            return;
        }

        ulong canonical = va & Pte.VaMask;
        for (int i = 0; i < _e.Length; i++)
        {
            ref var e = ref _e[i];
            int orig = e.OrigShift;
            if (e.Vpn != Invalid && orig > e.Size && Live(ref e, pcid) && (e.Vpn << e.Size) >> orig == canonical >> orig)
            {
                e.Vpn = Invalid;
            }
        }
    }

    private void Drop(ulong va, ushort pcid, int shift)
    {
        ulong vpn = va >> shift;
        int first = SetStart(vpn);
        foreach (ref var e in _e.AsSpan(first, _ways))
        {
            if (e.Vpn == vpn && e.Size == shift && Live(ref e, pcid))
            {
                e.Vpn = Invalid;
            }
        }
    }

    /// <summary>
    /// Drops non-global entries of one PCID (null: of every PCID); with <paramref name="includeGlobal"/> and no
    /// PCID, everything.
    /// </summary>
    public void Flush(ushort? pcid, bool includeGlobal)
    {
        long now = ++_clock;
        if (includeGlobal && pcid is null)
        {
            _allFlushedAt = now;
        }
        else if (pcid is null)
        {
            _nonGlobalFlushedAt = now;
        }
        else
        {
            _pcidFlushedAt[pcid.Value] = now;
            if (includeGlobal)
            {
                foreach (ref var e in _e.AsSpan())
                {
                    if ((e.Flags & Global) != 0)
                    {
                        e.Vpn = Invalid;
                    }
                }
            }
        }

        _clock++;
    }

    /// <summary>Whether entry <paramref name="e"/> (whose vpn matched) is alive and visible to <paramref name="pcid"/>.</summary>
    private bool Live(ref Entry e, ushort pcid)
    {
        long stamp = e.Stamp;
        if (stamp <= _allFlushedAt)
        {
            return false;
        }

        if ((e.Flags & Global) != 0)
        {
            return true;
        }

        return e.Pcid == pcid && stamp > _nonGlobalFlushedAt && stamp > _pcidFlushedAt[pcid];
    }

    /// <summary>
    /// One entry, packed (32 bytes: two per host cache line, a 4-way set in two), so a probe reads the lines of its
    /// set only, not one line per field as parallel arrays would.
    /// </summary>
    private struct Entry
    {
        public ulong Vpn;      // Invalid when empty or dropped
        public ulong Base;     // guest-physical base of the entry's page
        public long Stamp;     // LRU stamp, also the entry's age for the O(1) flushes
        public ushort Pcid;
        public byte Flags;     // Global | Dirty
        public byte Size;      // the entry's own page size (PageShift, or AltShift in a shared array)
        public byte OrigShift; // size of the page the entry was cut from (> Size when fractured)
        public Perms Hw;
        public Perms Guest;
    }

    private int SetStart(ulong vpn) => (int)(_pow2 ? vpn & _setMask : vpn % (ulong)_sets) * _ways;
}

/// <summary>
/// A TLB hit: the 4 KiB frame reached, the permissions hardware enforces, the guest permissions, D, G, the entry's
/// page size, and the size of the page it was fractured or splintered from (0 when it was not).
/// </summary>
public readonly record struct TlbHit(bool Hit, ulong Frame, Perms HwPerms, Perms GuestPerms, bool Dirty, bool Global, byte Shift = Pte.PageShift, byte OrigShift = 0);
