using Replay.Engines.Guest;

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
    private readonly int _sets;
    private readonly int _ways;
    private readonly ulong _setMask;
    private readonly bool _pow2;
    private readonly ulong[] _vpn;
    private readonly ushort[] _pcid;
    private readonly ulong[] _base;
    private readonly byte[] _flags; // bit0 global, bit1 dirty
    private readonly Perms[] _hw;
    private readonly Perms[] _guest;
    private readonly long[] _stamp;
    private readonly byte[] _origShift; // size of the page the entry was cut from (> its own size when fractured)
    private readonly byte[] _size;      // the entry's own page size (PageShift, or AltShift in a shared array)
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
        int n = _sets * _ways;
        _vpn = Enumerable.Repeat(Invalid, n).ToArray();
        _pcid = new ushort[n];
        _base = new ulong[n];
        _flags = new byte[n];
        _hw = new Perms[n];
        _guest = new Perms[n];
        _stamp = new long[n];
        _origShift = new byte[n];
        _size = new byte[n];
    }

    public int PageShift { get; }

    /// <summary>The second page size a shared array holds (0 when it holds one size).</summary>
    public int AltShift { get; }

    /// <summary>False until the first insert: lookups in an array that never held anything are skipped.</summary>
    public bool Used { get; private set; }

    public bool Lookup(ulong va, ushort pcid, out TlbHit hit)
    {
        if (!Used)
        {
            hit = default;
            return false;
        }

        return Probe(va, pcid, PageShift, out hit) || (AltShift != 0 && Probe(va, pcid, AltShift, out hit));
    }

    private bool Probe(ulong va, ushort pcid, int shift, out TlbHit hit)
    {
        ulong vpn = va >> shift;
        int first = SetStart(vpn);
        for (int i = first; i < first + _ways; i++)
        {
            if (_vpn[i] == vpn && _size[i] == shift && Live(i, pcid))
            {
                _stamp[i] = ++_clock;
                hit = new TlbHit(true, _base[i] + (va & ((1UL << shift) - 1) & ~Pte.PageOffsetMask), _hw[i], _guest[i],
                    (_flags[i] & 2) != 0, (_flags[i] & 1) != 0, (byte)shift, _origShift[i] > shift ? _origShift[i] : (byte)0);
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
        ulong vpn = va >> shift;
        int first = SetStart(vpn);
        int victim = first;
        for (int i = first; i < first + _ways; i++)
        {
            // Reuse the slot of the same page (live or dead) or an empty one; otherwise evict the oldest,
            // which is also where flushed entries end up.
            if ((_vpn[i] == vpn && _size[i] == shift && (_pcid[i] == pcid || (_flags[i] & 1) != 0)) || _vpn[i] == Invalid)
            {
                victim = i;
                break;
            }

            if (_stamp[i] < _stamp[victim])
            {
                victim = i;
            }
        }

        _vpn[victim] = vpn;
        _pcid[victim] = pcid;
        _base[victim] = pageBase;
        _hw[victim] = hw;
        _guest[victim] = guest;
        _flags[victim] = (byte)((global ? 1 : 0) | (dirty ? 2 : 0));
        _stamp[victim] = ++_clock;
        _size[victim] = (byte)shift;
        _origShift[victim] = (byte)Math.Max(origShift, shift);
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
        if (AltShift != 0)
        {
            Drop(va, pcid, AltShift);
        }

        if (!_holdsFractured)
        {
            return;
        }

        ulong canonical = va & Pte.VaMask;
        for (int i = 0; i < _vpn.Length; i++)
        {
            int orig = _origShift[i];
            if (_vpn[i] != Invalid && orig > _size[i] && Live(i, pcid) && (_vpn[i] << _size[i]) >> orig == canonical >> orig)
            {
                _vpn[i] = Invalid;
            }
        }
    }

    private void Drop(ulong va, ushort pcid, int shift)
    {
        ulong vpn = va >> shift;
        int first = SetStart(vpn);
        for (int i = first; i < first + _ways; i++)
        {
            if (_vpn[i] == vpn && _size[i] == shift && Live(i, pcid))
            {
                _vpn[i] = Invalid;
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
                for (int i = 0; i < _vpn.Length; i++)
                {
                    if ((_flags[i] & 1) != 0)
                    {
                        _vpn[i] = Invalid;
                    }
                }
            }
        }

        _clock++;
    }

    /// <summary>Whether entry <paramref name="i"/> (whose vpn matched) is alive and visible to <paramref name="pcid"/>.</summary>
    private bool Live(int i, ushort pcid)
    {
        long stamp = _stamp[i];
        if (stamp <= _allFlushedAt)
        {
            return false;
        }

        if ((_flags[i] & 1) != 0)
        {
            return true;
        }

        return _pcid[i] == pcid && stamp > _nonGlobalFlushedAt && stamp > _pcidFlushedAt[pcid];
    }

    private int SetStart(ulong vpn) => (int)(_pow2 ? vpn & _setMask : vpn % (ulong)_sets) * _ways;
}

/// <summary>
/// A TLB hit: the 4 KiB frame reached, the permissions hardware enforces, the guest permissions, D, G, the entry's
/// page size, and the size of the page it was fractured or splintered from (0 when it was not).
/// </summary>
public readonly record struct TlbHit(bool Hit, ulong Frame, Perms HwPerms, Perms GuestPerms, bool Dirty, bool Global, byte Shift = Pte.PageShift, byte OrigShift = 0);
