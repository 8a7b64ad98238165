using Replay.Engines.Contract;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Hardware;
using Replay.Engines.Parts.Shadow;
using static Replay.Engines.Agile.AgileEngine.Declared;

namespace Replay.Engines.Agile;

/// <summary>
/// Agile paging's VMM policy (Gandhi, Hill, Swift, ISCA 2016, §IV; REFERENCES §6.1) and the CR3/invalidation exits.
/// Shadow → nested: a page whose trapped writes in one interval reach <see cref="AgileOptions.NestedWrites"/> loses its
/// shadows and write protection, and every shadow entry that led to it gets the switch bit. Nested → shadow: at each
/// interval boundary the VMM reads the dirty bits of the nested pages' mappings; a page not written over a whole
/// interval is write-protected again and its shadow rebuilt from the guest entries, the switch entries becoming links.
/// New processes start nested (see <see cref="AgileOptions.NewNested"/>).
/// </summary>
public sealed partial class AgileEngine
{
    private readonly Dictionary<ulong, TablePage> _pages = new();
    private readonly HashSet<ulong> _nestedFrames = new();
    private readonly List<TablePage> _writtenThisInterval = new();
    private readonly List<TablePage> _loadedThisInterval = new();

    /// <summary>The CR3-target values the VMM has listed (<see cref="AgileOptions.Cr3Targets"/>): CR3 values of nested roots.</summary>
    private readonly List<ulong> _cr3Targets = new();
    private long _nextScan;

    /// <summary>Interval scans done so far: the number of the interval now running.</summary>
    private long _interval;

    public void LoadCr3(in Cr3Load load)
    {
        Tick(load.Index);
        ulong gfn = (load.Value & Pte.AddrMask) >> Pte.PageShift;
        var tp = PageOf(gfn);
        if (!tp.Root)
        {
            // First load of this root: a root the guest built during the trace is a new process (fork/exec).
            tp.Root = true;
            if (_o.NewNested && tp.Written && !tp.Nested)
            {
                ToNested(gfn, tp, CStartNested);
            }
        }

        if (_roots[load.Vcpu] is { } old)
        {
            old.RootCount--;
            _roots[load.Vcpu] = null;
        }

        HardwareMmu.LoadCr3(Machine, load);
        if (tp.Nested && _cr3Targets.Contains(load.Value))
        {
            // A CR3-target value: the hardware loads it without an exit and walks from it in nested mode.
            Stats.Count(CTargetLoads);
            return;
        }

        if (_o.Cr3Targets > 0 && !tp.Nested && tp.Loads++ == 0)
        {
            _loadedThisInterval.Add(tp);
        }

        if (_o.Cr3Targets > 0 && !tp.Nested && tp.Loads >= _o.NestedCr3Loads)
        {
            ToNested(gfn, tp, CToNested);
        }

        if (tp.Nested && _cr3Targets.Count < _o.Cr3Targets)
        {
            _cr3Targets.Add(load.Value);
        }

        int built = 0;
        if (!tp.Nested)
        {
            built = EnsureRoot(load.Vcpu, gfn) ? 1 : 0;
        }

        Stats.Exit(Cr3Switch, built);
        UpdatePages();
    }

    public void Invalidate(in Invalidation inv)
    {
        Tick(inv.Index);

        // Write protection keeps every shadow entry coherent and write-heavy pages go nested instead of out of sync,
        // so INVLPG has nothing to resync: INVLPG exiting is off (as KVM runs EPT guests) and the hardware drops the
        // va itself. A flush 0 is a CR3 reload (CR3-load exiting is on: sCR3 must be found); flush 1 a CR4 write.
        HardwareMmu.Invalidate(Machine, inv);
        if (inv.Kind != InvalidationKind.Page)
        {
            Stats.Exit(inv.Kind == InvalidationKind.All ? FlushAll : Cr3Switch);
        }
    }

    /// <summary>Gives the vCPU the shadow root of guest root <paramref name="gfn"/>; true when it had to be created.</summary>
    private bool EnsureRoot(int vcpu, ulong gfn)
    {
        var top = (ShadowType)Levels;
        var s = _store.Find(gfn, top);
        bool made = s is null;
        if (s is null)
        {
            s = _store.Create(gfn, top);
            Stats.ShadowPagesCreated++;
        }

        s.RootCount++;
        _roots[vcpu] = s;
        return made;
    }

    private TablePage PageOf(ulong gfn)
    {
        if (!_pages.TryGetValue(gfn, out var tp))
        {
            tp = new TablePage();
            _pages.Add(gfn, tp);
        }

        return tp;
    }

    /// <summary>Runs the interval scans due before event <paramref name="index"/>.</summary>
    private void Tick(long index)
    {
        while (index >= _nextScan)
        {
            _nextScan += _o.Interval;
            Scan();
            _interval++;
        }
    }

    /// <summary>
    /// An interval boundary: write counts start again, and each nested page's dirty bit is read and cleared; a page
    /// whose bit stayed clear over the interval returns to shadow mode.
    /// </summary>
    private void Scan()
    {
        foreach (var tp in _writtenThisInterval)
        {
            tp.Writes = 0;
        }

        _writtenThisInterval.Clear();
        foreach (var tp in _loadedThisInterval)
        {
            tp.Loads = 0;
        }

        _loadedThisInterval.Clear();
        if (_nestedFrames.Count == 0)
        {
            return;
        }

        Stats.Within(DirtyScanWithin, _nestedFrames.Count);
        foreach (ulong gfn in _nestedFrames.ToArray())
        {
            var tp = _pages[gfn];
            if (tp.Dirty)
            {
                tp.Dirty = false;
            }
            else
            {
                ToShadow(gfn, tp);
            }
        }

        UpdatePages();
    }

    /// <summary>
    /// Shadow → nested for guest frame <paramref name="gfn"/>: every shadow of it is freed (its entries zapped), each
    /// shadow entry that linked one becomes a switch entry to the frame, a vCPU running on it as root starts its walks
    /// nested, and every TLB is flushed. Units: switch entries made plus shadow pages freed.
    /// </summary>
    private void ToNested(ulong gfn, TablePage tp, CounterHandle counter)
    {
        tp.Nested = true;
        tp.Dirty = true; // a page goes back only after a whole interval clean
        _nestedFrames.Add(gfn);
        long units = 0;
        if (_store.Frame(gfn) is { } fs)
        {
            foreach (var s in fs.Shadows.ToArray())
            {
                foreach (long loc in s.Parents.ToArray())
                {
                    var parent = _store.Page((int)(loc >> Pte.BitsPerLevel));
                    int index = (int)(loc & Pte.IndexMask);
                    _store.Unlink(parent, index);
                    SetSwitch(parent, index, gfn);
                    units++;
                }

                for (int v = 0; v < _roots.Length; v++)
                {
                    if (_roots[v] == s)
                    {
                        _roots[v] = null;
                        s.RootCount--;
                    }
                }

                for (int i = 0; i < Pte.EntriesPerTable; i++)
                {
                    Zap(s, i);
                }

                _store.Remove(s);
                Stats.ShadowPagesEvicted++;
                units++;
            }
        }

        FlushEverywhere();
        Stats.Count(counter);
        Stats.Within(ToNestedWithin, units);
    }

    /// <summary>
    /// Nested → shadow for guest frame <paramref name="gfn"/>: for each level something leads to it at (a switch entry
    /// one level up, or a vCPU's root), its shadow is created and rebuilt from the guest entries (leaves, switch entries
    /// to nested children, links to existing child shadows, child tables that have no shadow (nested below it until now: rebuilt too when clean, else switch entries)), the switch entries
    /// become links, and every TLB is flushed. A nested frame nothing leads to any more just leaves nested mode.
    /// Units: entries rebuilt.
    /// </summary>
    private void ToShadow(ulong gfn, TablePage tp)
    {
        tp.Nested = false;
        _nestedFrames.Remove(gfn);
        _cr3Targets.RemoveAll(value => (value & Pte.AddrMask) >> Pte.PageShift == gfn); // its loads must exit again
        Stats.Count(CToShadow);
        bool root = Machine.Vcpus.Any(v => v.Cr3 >> Pte.PageShift == gfn);
        long units = 0;
        if (tp.SwitchParents.Count == 0 && !root)
        {
            Stats.Within(ToShadowWithin, 0);
            return;
        }

        var parents = tp.SwitchParents.ToArray();
        tp.SwitchParents.Clear();
        for (int level = Levels; level >= 1; level--)
        {
            bool atRoot = root && level == Levels;
            if (!atRoot && !parents.Any(loc => _store.Page((int)(loc >> Pte.BitsPerLevel)).Level == level + 1))
            {
                continue;
            }

            var s = _store.Find(gfn, (ShadowType)level);
            if (s is null)
            {
                s = _store.Create(gfn, (ShadowType)level);
                Stats.ShadowPagesCreated++;
            }

            units += Rebuild(s);
            foreach (long loc in parents)
            {
                var parent = _store.Page((int)(loc >> Pte.BitsPerLevel));
                if (parent.Level == level + 1)
                {
                    int index = (int)(loc & Pte.IndexMask);
                    parent.E[index] = 0;
                    ShadowStore.Link(parent, index, s, Pte.Present);
                }
            }

            for (int v = 0; atRoot && v < _roots.Length; v++)
            {
                if (Machine.Vcpus[v].Cr3 >> Pte.PageShift == gfn && _roots[v] is null)
                {
                    _roots[v] = s;
                    s.RootCount++;
                }
            }
        }

        FlushEverywhere();
        Stats.Within(ToShadowWithin, units);
    }

    /// <summary>Fills the shadow page from its guest table; returns the entries filled.</summary>
    private int Rebuild(ShadowPage s)
    {
        ulong table = s.Gfn << Pte.PageShift;
        int filled = 0;
        int created = 0;
        for (int i = 0; i < Pte.EntriesPerTable; i++)
        {
            ulong g = Machine.Memory.ReadWord(table + ((ulong)i << Pte.EntryShift));
            if ((g & (Pte.Present | Pte.Accessed)) != (Pte.Present | Pte.Accessed) || (s.E[i] & SEntry.Present) != 0)
            {
                continue;
            }

            ulong child = (g & Pte.AddrMask) >> Pte.PageShift;
            if (s.Level == 1)
            {
                created += SetLeaf(s, i, g & Pte.AddrMask, writable: (g & (Pte.Rw | Pte.Dirty)) == (Pte.Rw | Pte.Dirty));
            }
            else if ((g & Pte.Ps) != 0)
            {
                continue; // a superpage: splintered by the first fault on it
            }
            else if (_pages.TryGetValue(child, out var ctp) && ctp.Nested)
            {
                SetSwitch(s, i, child);
            }
            else if (_store.Find(child, (ShadowType)(s.Level - 1)) is { } c)
            {
                ShadowStore.Link(s, i, c, Pte.Present);
            }
            else if (_store.Frame(child) is null)
            {
                // A child table with no shadow: until now the walk reached it below a nested page, so it was in nested
                // mode too (REFERENCES §6.1: everything below a nested page is nested), written freely, its D bit
                // seen by the scans. Clean over the interval just ended, it returns to shadow mode with this page,
                // rebuilt whole; written, it stays nested behind a switch entry until a scan finds it clean.
                var below = PageOf(child);
                if (below.WrittenIn == _interval)
                {
                    below.Nested = true;
                    below.Dirty = false; // this interval's write has been seen; the next scan reads its D bit again
                    _nestedFrames.Add(child);
                    SetSwitch(s, i, child);
                }
                else
                {
                    var cs = _store.Create(child, (ShadowType)(s.Level - 1));
                    Stats.ShadowPagesCreated++;
                    filled += Rebuild(cs);
                    ShadowStore.Link(s, i, cs, Pte.Present);
                }
            }
            else
            {
                continue; // shadowed at another level only: filled by later faults
            }

            filled++;
        }

        Stats.ShadowPagesCreated += created;
        return filled;
    }

    /// <summary>What the VMM knows of one guest frame that is (or was written as) a page table.</summary>
    private sealed class TablePage
    {
        /// <summary>Nested mode: not shadowed, written freely; shadow entries leading to it carry the switch bit.</summary>
        public bool Nested;

        /// <summary>Nested: written since the last interval scan (the D bit of its EPT mapping).</summary>
        public bool Dirty;

        /// <summary>Written by a <c>ptwrite</c> during the trace (before its first CR3 load: a new process's root).</summary>
        public bool Written;

        /// <summary>Loaded into CR3 at least once.</summary>
        public bool Root;

        /// <summary>The interval of its latest write while unshadowed (-1: none): the D bit of a page below a nested one.</summary>
        public long WrittenIn = -1;

        /// <summary>Trapped writes this interval.</summary>
        public int Writes;

        /// <summary>With CR3-target values: CR3 loads (exits) of it as a root this interval.</summary>
        public int Loads;

        /// <summary>Shadow entries with the switch bit leading to it: (shadow page id &lt;&lt; 9) | index.</summary>
        public readonly List<long> SwitchParents = new(1);
    }
}
