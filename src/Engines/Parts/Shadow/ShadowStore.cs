using Replay.Engines.Paging;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// The domain's shadow pages: the hash from (guest frame, type) to shadow page (Xen's 251-bucket
/// <c>shadow_hash</c>, KVM's <c>mmu_page_hash</c>), pages by id, parent links, the guest frames they shadow, and
/// the reverse map of writable shadow mappings that write protection must find (Xen's
/// <c>sh_remove_write_access</c>, KVM's rmap). Policy — when to create, free or evict — is the engine's.
/// </summary>
internal sealed class ShadowStore
{
    private readonly List<ShadowPage?> _byId = [];
    private readonly Stack<int> _freeIds = new();
    private readonly Dictionary<ulong, ShadowPage> _hash = new();
    private readonly Dictionary<ulong, FrameState> _frames = new();
    private readonly Dictionary<ulong, List<long>> _writable = new();
    private readonly Dictionary<ulong, List<long>> _writableLarge = new();
    private readonly Dictionary<ulong, int> _tablesPer2M = new();
    private readonly Dictionary<ulong, int> _tablesPer1G = new();
    private long _writableEntries;

    /// <summary>Shadow pages alive.</summary>
    public long Live { get; private set; }

    /// <summary>Xen: pinned top-level shadows, most recently loaded first (<c>pinned_shadows</c>).</summary>
    public LinkedList<ShadowPage> Pinned { get; } = new();

    /// <summary>KVM: every page in creation order, newest first (<c>active_mmu_pages</c>).</summary>
    public LinkedList<ShadowPage> Active { get; } = new();

    public static ulong KeyOf(ulong gfn, ShadowType type) => (gfn << 3) | (ulong)type;

    public ShadowPage Page(int id) => _byId[id]!;

    public ShadowPage? Find(ulong gfn, ShadowType type) => _hash.GetValueOrDefault(KeyOf(gfn, type));

    public FrameState? Frame(ulong gfn) => _frames.GetValueOrDefault(gfn);

    /// <summary>Creates an empty shadow page; a table type registers (promotes) its guest frame.</summary>
    public ShadowPage Create(ulong gfn, ShadowType type)
    {
        int id = _freeIds.Count > 0 ? _freeIds.Pop() : _byId.Count;
        var p = new ShadowPage(id, gfn, type);
        if (id == _byId.Count)
        {
            _byId.Add(p);
        }
        else
        {
            _byId[id] = p;
        }

        _hash.Add(p.Key, p);
        p.ActiveNode = Active.AddFirst(p);
        Live++;
        if (!p.IsSplinter)
        {
            if (!_frames.TryGetValue(gfn, out var f))
            {
                f = new FrameState();
                _frames.Add(gfn, f);
                CountTable(gfn, +1);
            }

            f.Shadows.Add(p);
        }

        return p;
    }

    /// <summary>Removes a page whose entries and parent links are already cleared.</summary>
    public void Remove(ShadowPage p)
    {
        p.Dead = true;
        _hash.Remove(p.Key);
        _byId[p.Id] = null;
        _freeIds.Push(p.Id);
        Active.Remove(p.ActiveNode!);
        if (p.PinNode is not null)
        {
            Pinned.Remove(p.PinNode);
            p.PinNode = null;
        }

        Live--;
        if (!p.IsSplinter && _frames.TryGetValue(p.Gfn, out var f))
        {
            f.Shadows.Remove(p);
            if (f.Shadows.Count == 0)
            {
                _frames.Remove(p.Gfn);
                CountTable(p.Gfn, -1);
            }
        }
    }

    /// <summary>
    /// Whether a shadowed guest table lies in the 2 MiB (<paramref name="level"/> 2) or 1 GiB (3) page starting
    /// at frame <paramref name="baseGfn"/>: KVM's <c>disallow_lpage</c>, which each shadowed table raises over the
    /// huge pages around it (<c>account_shadowed</c>).
    /// </summary>
    public bool HasTableIn(ulong baseGfn, int level) => level == 2
        ? _tablesPer2M.ContainsKey(baseGfn >> (Pte.LargePageShift - Pte.PageShift))
        : _tablesPer1G.ContainsKey(baseGfn >> (Pte.HugePageShift - Pte.PageShift));

    private void CountTable(ulong gfn, int delta)
    {
        Bump(_tablesPer2M, gfn >> (Pte.LargePageShift - Pte.PageShift), delta);
        Bump(_tablesPer1G, gfn >> (Pte.HugePageShift - Pte.PageShift), delta);

        static void Bump(Dictionary<ulong, int> counts, ulong key, int delta)
        {
            int n = counts.GetValueOrDefault(key) + delta;
            if (n == 0)
            {
                counts.Remove(key);
            }
            else
            {
                counts[key] = n;
            }
        }
    }

    /// <summary>Points entry <paramref name="index"/> of <paramref name="parent"/> at <paramref name="child"/>.</summary>
    public static void Link(ShadowPage parent, int index, ShadowPage child, ulong guestEntry)
    {
        parent.E[index] = SEntry.Link(child.Id, guestEntry);
        child.Parents.Add(Location(parent, index));
    }

    /// <summary>Clears upper entry <paramref name="index"/> of <paramref name="parent"/>; returns the child it linked, if any.</summary>
    public ShadowPage? Unlink(ShadowPage parent, int index)
    {
        ulong e = parent.E[index];
        parent.E[index] = 0;
        if (!SEntry.IsLink(e))
        {
            return null; // not present, or a huge leaf: nothing linked
        }

        var child = _byId[SEntry.Child(e)]!;
        child.Parents.Remove(Location(parent, index));
        return child;
    }

    /// <summary>Records that leaf entry <paramref name="index"/> of <paramref name="page"/> lets the hardware write <paramref name="frame"/>.</summary>
    public void NoteWritable(ulong frame, ShadowPage page, int index) => Note(_writable, frame, Location(page, index));

    /// <summary>
    /// Records that huge entry <paramref name="index"/> of <paramref name="page"/> (level <paramref name="level"/>,
    /// mapping the page at frame <paramref name="baseGfn"/>) lets the hardware write every frame in that page.
    /// </summary>
    public void NoteWritableLarge(ulong baseGfn, int level, ShadowPage page, int index) =>
        Note(_writableLarge, LargeKey(baseGfn, level), Location(page, index));

    /// <summary>Where entry <paramref name="index"/> of <paramref name="page"/> is, in the reverse map and in parent links.</summary>
    private static long Location(ShadowPage page, int index) => ((long)page.Id << Pte.BitsPerLevel) | (uint)index;

    /// <summary>Adds <paramref name="loc"/> to <paramref name="key"/>'s list (once, if it was the last added); compacts when the lists grow past the pages alive.</summary>
    private void Note(Dictionary<ulong, List<long>> lists, ulong key, long loc)
    {
        var list = ListOf(lists, key);
        if (list.Count == 0 || list[^1] != loc)
        {
            list.Add(loc);
            if (++_writableEntries > (1 << 20) + (Live * 64))
            {
                CompactWritable();
            }
        }
    }

    private static List<long> ListOf(Dictionary<ulong, List<long>> lists, ulong key)
    {
        if (!lists.TryGetValue(key, out var list))
        {
            list = new List<long>(1);
            lists.Add(key, list);
        }

        return list;
    }

    private static ulong LargeKey(ulong gfn, int level) => ((gfn >> (Pte.BitsPerLevel * (level - 1))) << 2) | (uint)level;

    /// <summary>
    /// Removes every hardware-writable shadow mapping of <paramref name="frame"/> (the frame is becoming a
    /// write-protected page table), huge entries over it included (they stay, read-only: KVM's
    /// <c>kvm_mmu_slot_gfn_write_protect</c> walks every level); returns how many entries were downgraded.
    /// </summary>
    public int RemoveWriteAccess(ulong frame)
    {
        int removed = RemoveLargeWriteAccess(frame, 2) + RemoveLargeWriteAccess(frame, 3);
        if (!_writable.Remove(frame, out var list))
        {
            return removed;
        }

        _writableEntries -= list.Count;
        foreach (long loc in list)
        {
            var p = _byId[(int)(loc >> Pte.BitsPerLevel)];
            int i = (int)(loc & Pte.IndexMask);
            if (p is not null && p.Level == 1 && (p.E[i] & (SEntry.Present | SEntry.HwWrite)) == (SEntry.Present | SEntry.HwWrite)
                && (p.E[i] & Pte.AddrMask) >> Pte.PageShift == frame)
            {
                p.E[i] &= ~SEntry.HwWrite;
                removed++;
            }
        }

        return removed;
    }

    private int RemoveLargeWriteAccess(ulong frame, int level)
    {
        if (_writableLarge.Count == 0 || !_writableLarge.Remove(LargeKey(frame, level), out var list))
        {
            return 0;
        }

        _writableEntries -= list.Count;
        ulong size = 1UL << (Pte.BitsPerLevel * (level - 1));
        int removed = 0;
        foreach (long loc in list)
        {
            var p = _byId[(int)(loc >> Pte.BitsPerLevel)];
            int i = (int)(loc & Pte.IndexMask);
            const ulong Writable = SEntry.Present | SEntry.Large | SEntry.HwWrite;
            if (p is not null && p.Level == level && (p.E[i] & Writable) == Writable
                && frame - ((p.E[i] & Pte.AddrMask) >> Pte.PageShift) < size)
            {
                p.E[i] &= ~SEntry.HwWrite;
                removed++;
            }
        }

        return removed;
    }

    /// <summary>Drops stale reverse-map locations (entries since cleared, pages since freed).</summary>
    private void CompactWritable()
    {
        _writable.Clear();
        _writableLarge.Clear();
        _writableEntries = 0;
        foreach (var p in _byId)
        {
            if (p is null)
            {
                continue;
            }

            if (p.Level != 1)
            {
                const ulong Writable = SEntry.Present | SEntry.Large | SEntry.HwWrite;
                for (int i = 0; i < Pte.EntriesPerTable; i++)
                {
                    if ((p.E[i] & Writable) == Writable)
                    {
                        ListOf(_writableLarge, LargeKey((p.E[i] & Pte.AddrMask) >> Pte.PageShift, p.Level)).Add(Location(p, i));
                        _writableEntries++;
                    }
                }

                continue;
            }

            for (int i = 0; i < Pte.EntriesPerTable; i++)
            {
                if ((p.E[i] & (SEntry.Present | SEntry.HwWrite)) == (SEntry.Present | SEntry.HwWrite))
                {
                    ListOf(_writable, (p.E[i] & Pte.AddrMask) >> Pte.PageShift).Add(Location(p, i));
                    _writableEntries++;
                }
            }
        }
    }
}
