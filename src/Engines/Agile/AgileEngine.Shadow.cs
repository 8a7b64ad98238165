using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Shadow;
using static Replay.Engines.Agile.AgileEngine.Declared;

namespace Replay.Engines.Agile;

/// <summary>Hidden faults and write protection of shadow-mode pages (KVM <c>FNAME(page_fault)</c>, <c>FNAME(fetch)</c>, <c>kvm_mmu_pte_write</c>).</summary>
public sealed partial class AgileEngine
{
    /// <summary>
    /// A #PF exit on the shadow part of a walk (a missing shadow entry, or a write through a clean leaf). The VMM walks
    /// the guest tables in software, setting A/D as the hardware would: a failing walk is reflected; otherwise it finds
    /// or creates the shadow of every shadow-mode table on the path and links it, stops at a nested-mode table with a
    /// switch entry, or splinters a guest superpage, fills the leaf from the guest entry and prefetches neighbours.
    /// Returns the reflected fault, or null when the access is to restart.
    /// </summary>
    private Translation? HiddenFault(in MemoryAccess a, VcpuState v)
    {
        Stats.Count(CHiddenFaults);
        var tables = default(WalkRecorder);
        var w = PageWalker.Walk(Machine.Memory, v.Cr3, a.Va, a.Kind, a.User, Levels, setAccessedDirty: true, null, 0, ref tables);
        if (w.Fault)
        {
            Stats.Exit(GuestPfReflect);
            Stats.GuestFaults++;
            return Translation.GuestFault;
        }

        var mem = Machine.Memory;
        var page = _roots[a.Vcpu]!;
        int created = 0;
        ulong chunk = w.PageBase;
        for (int level = Levels; level >= 2; level--)
        {
            int index = Pte.Index(a.Va, level);
            ulong childGfn;
            ShadowType childType;
            if (level > w.LeafLevel)
            {
                childGfn = (mem.ReadWord(tables.Table(level) + ((ulong)index << Pte.EntryShift)) & Pte.AddrMask) >> Pte.PageShift;
                childType = (ShadowType)(level - 1);
                if (_pages.TryGetValue(childGfn, out var tp) && tp.Nested)
                {
                    if (page.E[index] != AgileEntry.SwitchTo(childGfn))
                    {
                        Zap(page, index);
                        SetSwitch(page, index, childGfn);
                    }

                    Finish(created, 0);
                    return null;
                }
            }
            else
            {
                // Inside a guest superpage: fl2 for a 1 GiB page, fl1 for a 2 MiB one (or a 2 MiB part of a 1 GiB one).
                if (level < w.LeafLevel)
                {
                    chunk += (ulong)index << Pte.Shift(level + 1);
                }

                childGfn = chunk >> Pte.PageShift;
                childType = level == 3 ? ShadowType.Fl2 : ShadowType.Fl1;
            }

            ulong e = page.E[index];
            if (SEntry.IsLink(e) && (e & AgileEntry.Switch) == 0 && _store.Page(SEntry.Child(e)) is { } linked
                && linked.Gfn == childGfn && linked.Type == childType)
            {
                page = linked;
                continue;
            }

            var child = _store.Find(childGfn, childType);
            if (child is null)
            {
                child = _store.Create(childGfn, childType);
                created++;
            }

            Zap(page, index);
            ShadowStore.Link(page, index, child, Pte.Present);
            page = child;
        }

        int i1 = Pte.Index(a.Va, 1);
        created += SetLeaf(page, i1, w.FrameOf(a.Va), writable: (w.Perms & Perms.Write) != 0 && w.Dirty);
        int prefetched = page.Type == ShadowType.L1 ? Prefetch(page, i1, ref created) : 0;
        Finish(created, prefetched);
        return null;
    }

    private void Finish(int created, int prefetched)
    {
        Stats.Exit(ShadowFill, created);
        Stats.ShadowPagesCreated += created;
        if (prefetched > 0)
        {
            Stats.Within(PrefetchWithin, prefetched);
        }

        UpdatePages();
    }

    /// <summary>
    /// A shadow leaf for <paramref name="frame"/>: present, hardware-writable only when the guest entry is writable
    /// and dirty (so the first write through a clean page faults and sets D). The shadow entry holds the host
    /// address, so the VMM backs the frame in the nested dimension as it fills; returns the EPT pages that made.
    /// </summary>
    private int SetLeaf(ShadowPage page, int index, ulong frame, bool writable)
    {
        page.E[index] = frame | SEntry.Present | (writable ? SEntry.HwWrite : 0);
        return _nested.Map.Fill(frame);
    }

    /// <summary>
    /// KVM <c>FNAME(pte_prefetch)</c> (the shared <see cref="KvmPrefetch"/>): the aligned block of
    /// <see cref="AgileOptions.Prefetch"/> leaf entries around the faulting one, each filled as <see cref="SetLeaf"/> fills.
    /// </summary>
    private int Prefetch(ShadowPage page, int index, ref int created)
    {
        if (_o.Prefetch <= 1)
        {
            return 0;
        }

        var leaves = new AgileLeaves(this);
        int filled = KvmPrefetch.Block(page, index, _o.Prefetch, Machine.Memory, ref leaves);
        created += leaves.Created;
        Stats.Count(CPrefetched, filled);
        return filled;
    }

    /// <summary>A prefetched agile leaf: hardware-writable when the guest entry is writable and dirty; counts the EPT pages its backing made.</summary>
    private struct AgileLeaves(AgileEngine e) : IPrefetchLeaf
    {
        public int Created;

        public void Fill(ShadowPage page, int index, ulong guestEntry) =>
            Created += e.SetLeaf(page, index, guestEntry & Pte.AddrMask, writable: (guestEntry & (Pte.Rw | Pte.Dirty)) == (Pte.Rw | Pte.Dirty));
    }

    public void WritePageTable(in PageTableWrite write)
    {
        Tick(write.Index);
        ulong gfn = write.Pa >> Pte.PageShift;
        var fs = _store.Frame(gfn);
        int index = (int)((write.Pa >> Pte.EntryShift) & Pte.IndexMask);
        if (write.IsInit)
        {
            // Initial contents: no exit, no cost; a shadow that already exists is kept coherent silently.
            var (old, now) = Machine.Memory.Store(write.Pa, write.Value, write.Width);
            if (fs is not null && old != now && ZapAll(fs, index) > 0)
            {
                FlushEverywhere();
            }

            return;
        }

        var tp = PageOf(gfn);
        tp.Written = true;
        if (fs is null)
        {
            // Not shadowed (nested mode, or not a table the shadow has met): the store runs natively. A nested page's
            // write sets the D bit of its EPT mapping, which the interval scan reads.
            Machine.Memory.Store(write.Pa, write.Value, write.Width);
            tp.Dirty = true;
            tp.WrittenIn = _interval;
            return;
        }

        // Shadow mode: the frame is write-protected, so the store faults, is emulated and the written entry zapped
        // in every shadow of the frame (kvm_mmu_pte_write).
        Stats.Count(CWriteExits);
        Stats.EmulatedWrites++;
        Machine.Memory.Store(write.Pa, write.Value, write.Width);
        int zapped = ZapAll(fs, index);
        Stats.Exit(PtEmulate, zapped);
        if (zapped > 0)
        {
            FlushEverywhere();
        }

        if (tp.Writes++ == 0)
        {
            _writtenThisInterval.Add(tp);
        }

        if (tp.Writes >= _o.NestedWrites)
        {
            ToNested(gfn, tp, CToNested);
        }

        UpdatePages();
    }

    /// <summary>Zaps entry <paramref name="index"/> in every shadow of a frame; returns how many were present.</summary>
    private int ZapAll(FrameState fs, int index)
    {
        int zapped = 0;
        foreach (var s in fs.Shadows)
        {
            if (Zap(s, index))
            {
                zapped++;
            }
        }

        return zapped;
    }

    /// <summary>Clears one shadow entry: a link loses its parent, a switch entry is forgotten by its target.</summary>
    private bool Zap(ShadowPage page, int index)
    {
        ulong e = page.E[index];
        if ((e & SEntry.Present) == 0)
        {
            page.E[index] = 0;
            return false;
        }

        if ((e & AgileEntry.Switch) != 0)
        {
            page.E[index] = 0;
            PageOf((e & Pte.AddrMask) >> Pte.PageShift).SwitchParents.Remove(Location(page, index));
            return true;
        }

        if (page.Level > 1)
        {
            _store.Unlink(page, index);
        }
        else
        {
            page.E[index] = 0;
        }

        return true;
    }

    private void SetSwitch(ShadowPage page, int index, ulong gfn)
    {
        page.E[index] = AgileEntry.SwitchTo(gfn);
        PageOf(gfn).SwitchParents.Add(Location(page, index));
    }

    private static long Location(ShadowPage page, int index) => ((long)page.Id << Pte.BitsPerLevel) | (uint)index;
    /// <summary>The remote flush after a shadow change (as the shadow machinery's).</summary>
    private void FlushEverywhere() => ShadowMmu.FlushEverywhere(Machine);
}
