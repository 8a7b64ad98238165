using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using static Replay.Engines.Parts.Shadow.ShadowKinds;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// The shadow part for hidden faults: the handler (Xen <c>sh_page_fault</c>; KVM <c>FNAME(page_fault)</c> and
/// <c>FNAME(fetch)</c>), the fill of a shadow path, prefetch, and how a shadow entry is derived from a guest entry.
/// </summary>
internal sealed class ShadowFaults(ShadowMmu m) : ShadowPart(m)
{
    public Translation HiddenFault(in MemoryAccess a, VcpuState v, in ShadowWalk hw)
    {
        Count(Cnt.Fault);
        var vs = _v[a.Vcpu];

        // Xen's fast emulation: a kernel-mode write through a present (read-only) shadow entry on the linear frame
        // of the last emulated write goes straight to the emulator, with no walk and no unsync; if the frame turns
        // out not to be a write-protected table (out of sync, or no longer shadowed) Xen falls back to the slow path.
        if (_m.Emulation.XenFastEmulation(vs, a.Va >> Pte.PageShift, a.Kind == AccessKind.Write && !a.User && hw.Present))
        {
            var fw = default(WalkRecorder);
            var walk = PageWalker.Walk(Machine.Memory, v.Cr3, a.Va, a.Kind, a.User, Levels, setAccessedDirty: true, null, 0, ref fw);
            if (!walk.Fault && _store.Frame(walk.FrameOf(a.Va) >> Pte.PageShift) is { Protected: true })
            {
                return EmulateDataWrite(a, walk, fast: true);
            }

            vs.LastWriteEmulOk = false;
        }

        // Xen's fast path for "magic" guest-not-present entries: the fault is the guest's, reflected without a
        // walk. Not for an out-of-sync L1, whose magic entries may be stale (Xen falls back to the slow path).
        if (_xen && !hw.Present && hw.MissedLevel == 1 && (hw.MissedEntry & SEntry.Gnp) != 0
            && hw.Missed!.Type == ShadowType.L1 && _store.Frame(hw.Missed.Gfn) is { Oos: false })
        {
            Count(Cnt.FastGnp);
            return Reflect(vs);
        }

        var tables = default(WalkRecorder);
        var w = PageWalker.Walk(Machine.Memory, v.Cr3, a.Va, a.Kind, a.User, Levels, setAccessedDirty: true, null, 0, ref tables);
        if (w.Fault)
        {
            Count(Cnt.BailRealFault);
            return Reflect(vs);
        }

        ulong frame = w.FrameOf(a.Va);
        if (a.Kind == AccessKind.Write && _store.Frame(frame >> Pte.PageShift) is { Protected: true } fs)
        {
            return DataWriteToTable(a, fs, w, tables);
        }

        if (hw.Present && a.Kind == AccessKind.Write)
        {
            Count(Cnt.DirtyFaults);
        }

        int created = FillPath(a.Vcpu, a.Va, w, tables, out int prefetched);
        Count(Cnt.Fixed);
        Exit(ShadowFill, created);
        if (prefetched > 0)
        {
            Within(PrefetchWithin, prefetched);
        }

        vs.LastUnshadowFrame = VcpuShadow.None; // sh_reset_early_unshadow: a fixed fault breaks the run
        UpdatePages();

        // The access restarts and the hardware walks the now-filled shadow.
        var again = _m.HardwareWalk(v, _m.Roots.CurrentRoot(a.Vcpu), a.Va);
        return ShadowMmu.Insert(v, a, again);
    }

    /// <summary>The guest's own fault, injected; like a fixed fault it ends an early-unshadow run (<c>sh_reset_early_unshadow</c>).</summary>
    public Translation Reflect(VcpuShadow vs)
    {
        vs.LastUnshadowFrame = VcpuShadow.None;
        Exit(GuestPfReflect);
        Stats.GuestFaults++;
        return Translation.GuestFault;
    }

    /// <summary>
    /// Builds the shadow path for a successful guest walk: preallocates (Xen <c>shadow_prealloc</c>, KVM
    /// <c>make_mmu_pages_available</c>), then finds or creates the shadow of every table the walk met, linking
    /// each to its parent, propagates the leaf (splintering a superpage into 4 KiB entries) and prefetches.
    /// Returns the shadow pages created.
    /// </summary>
    public int FillPath(int vcpu, ulong va, in WalkResult w, in WalkRecorder tables, out int prefetched)
    {
        _m.Pool.Preallocate(Levels - 1); // Xen: shadow_prealloc(GUEST_PAGING_LEVELS - 1) before fixing a fault
        var root = _m.Roots.CurrentRoot(vcpu);
        int created = 0;
        var page = root;
        var mem = Machine.Memory;
        ulong chunkBase = 0;
        for (int level = Levels; level >= 2; level--)
        {
            page.Flood = 0; // KVM: a fault walking through a page is a use of it (clear_sp_write_flooding_count)
            int idx = Pte.Index(va, level);
            ulong ge;
            ulong childGfn;
            ShadowType childType;
            if (level >= w.LeafLevel)
            {
                ge = mem.ReadWord(tables.Table(level) + ((ulong)idx << Pte.EntryShift));
                (childGfn, childType) = ChildOf(ge, level);
                chunkBase = childGfn << Pte.PageShift;
            }
            else
            {
                // Inside a 1 GiB splinter: the 2 MiB part this va falls in.
                ge = Pte.Rw | Pte.Us | Pte.Present;
                chunkBase += (ulong)idx << Pte.LargePageShift;
                childGfn = chunkBase >> Pte.PageShift;
                childType = ShadowType.Fl1;
            }

            ulong e = page.E[idx];

            // KVM (kvm_mmu_hugepage_adjust): a guest superpage, or a 2 MiB part of a 1 GiB one, that the host backs
            // with a page as large and that holds no shadowed table gets one huge spte here, replacing whatever the
            // entry held; no prefetch follows a huge spte.
            if (level <= w.LeafLevel && KvmHugeAllowed(chunkBase >> Pte.PageShift, level))
            {
                ulong huge = HugeLeaf(chunkBase, mem.ReadWord(w.LeafPteAddr), split: level < w.LeafLevel);
                var dropped = _store.Unlink(page, idx);
                SetHuge(page, idx, huge);
                if (dropped is not null)
                {
                    FlushEverywhere(); // mmu_set_spte: a page-table pointer overwritten by a huge spte
                }

                prefetched = 0;
                return created;
            }

            ShadowPage? child = null;
            if (SEntry.IsLink(e))
            {
                var c = _store.Page(SEntry.Child(e));
                if (c.Gfn == childGfn && c.Type == childType)
                {
                    child = c;
                }
            }

            if (child is null)
            {
                child = _m.Pool.GetOrCreate(childGfn, childType, ref created);
                var old = _store.Unlink(page, idx);
                ShadowStore.Link(page, idx, child, ge);
                if (old is not null)
                {
                    _m.Pool.Release(old);
                }

                if ((e & SEntry.Large) != 0)
                {
                    FlushEverywhere(); // __link_shadow_page: the huge spte it replaces is dropped and flushed
                }
            }

            page = child;
        }

        int i1 = Pte.Index(va, 1);
        if (page.Type == ShadowType.L1)
        {
            SetLeafFromGuest(page, i1, mem.ReadWord(w.LeafPteAddr));
        }
        else
        {
            SetLeaf(page, i1, SplinterLeaf(w.FrameOf(va), mem.ReadWord(w.LeafPteAddr)));
        }

        prefetched = _o.Prefetch > 1 ? Prefetch(page, i1, w) : 0;
        return created;
    }

    /// <summary>
    /// KVM: whether the 2 MiB (<paramref name="level"/> 2) or 1 GiB (3) guest page at frame
    /// <paramref name="baseGfn"/> may be mapped by one huge spte: the host backs it with pages that large
    /// (<c>host_large_pages</c>) and no shadowed guest table lies inside it (<c>disallow_lpage</c>, which also
    /// covers <c>FNAME(is_self_change_mapping)</c>: the walk's own tables are shadowed by now).
    /// </summary>
    private bool KvmHugeAllowed(ulong baseGfn, int level) =>
        !_xen && _o.HostLargeLevel >= level && !_store.HasTableIn(baseGfn, level);

    /// <summary>
    /// A KVM huge spte for the page at <paramref name="pageBase"/>, from the guest's large entry
    /// <paramref name="large"/>: it carries the guest's permissions (or, as a 2 MiB part of a split 1 GiB page,
    /// only G: the link above carries them) and is hardware-writable once the guest entry is writable and dirty.
    /// </summary>
    private static ulong HugeLeaf(ulong pageBase, ulong large, bool split)
    {
        ulong flags = split ? Pte.Rw | Pte.Us | (large & Pte.Global) : large & SEntry.GuestFlags;
        ulong e = pageBase | flags | SEntry.Present | SEntry.Large;
        if ((large & (Pte.Rw | Pte.Dirty)) == (Pte.Rw | Pte.Dirty))
        {
            e |= SEntry.HwWrite;
        }

        return e;
    }

    private void SetHuge(ShadowPage page, int index, ulong e)
    {
        page.E[index] = e;
        if ((e & SEntry.HwWrite) != 0)
        {
            _store.NoteWritableLarge((e & Pte.AddrMask) >> Pte.PageShift, page.Level, page, index);
        }
    }

    /// <summary>
    /// The shadow an upper guest entry <paramref name="g"/> at <paramref name="level"/> links to: the next table's
    /// shadow, or for a superpage leaf its splinter page (fl2 for 1 GiB, fl1 for 2 MiB), keyed by the page's gfn.
    /// </summary>
    public static (ulong Gfn, ShadowType Type) ChildOf(ulong g, int level)
    {
        if ((g & Pte.Ps) != 0 && level <= 3)
        {
            ulong pageBase = g & Pte.AddrMask & ~((1UL << Pte.Shift(level)) - 1);
            return (pageBase >> Pte.PageShift, level == 3 ? ShadowType.Fl2 : ShadowType.Fl1);
        }

        return ((g & Pte.AddrMask) >> Pte.PageShift, (ShadowType)(level - 1));
    }

    /// <summary>
    /// Xen <c>sh_prefetch</c> / KVM <c>FNAME(pte_prefetch)</c>: fill neighbours of the faulting entry from the guest.
    /// Xen looks at the entries after the faulting one, to the end of the shadow L1, and stops at the first that
    /// already holds anything (a GNP magic entry too) or whose guest entry is present but would fault again for
    /// its A/D bits (A clear, or writable and not dirty); a not-present guest entry becomes a GNP magic entry.
    /// KVM looks at the aligned block of 8, skips present sptes and stops at the first guest entry that is not
    /// present or not accessed (<c>prefetch_invalid_gpte</c>). A splinter is filled from the superpage entry.
    /// Returns the entries filled present.
    /// </summary>
    private int Prefetch(ShadowPage page, int index, in WalkResult w)
    {
        if (!_xen && page.Type == ShadowType.L1)
        {
            var leaves = new GuestLeaves(this);
            int n = KvmPrefetch.Block(page, index, _o.Prefetch, Machine.Memory, ref leaves);
            Count(Cnt.Prefetched, n);
            return n;
        }

        int first;
        int last;
        if (_xen)
        {
            first = index + 1;
            last = Math.Min(Pte.IndexMask, index + _o.Prefetch - 1);
        }
        else
        {
            first = index - (index % _o.Prefetch);
            last = Math.Min(Pte.IndexMask, first + _o.Prefetch - 1);
        }

        bool table = page.Type == ShadowType.L1;
        ulong tableBase = table ? page.Gfn << Pte.PageShift : 0;
        ulong large = table ? 0 : Machine.Memory.ReadWord(w.LeafPteAddr);
        int filled = 0;
        for (int j = first; j <= last; j++)
        {
            if (j == index)
            {
                continue;
            }

            if (_xen ? page.E[j] != 0 : (page.E[j] & SEntry.Present) != 0)
            {
                if (_xen)
                {
                    break; // "No point in prefetching if there's already a shadow"
                }

                continue;
            }

            if (!table)
            {
                SetLeaf(page, j, SplinterLeaf((page.Gfn << Pte.PageShift) + ((ulong)j << Pte.PageShift), large));
                filled++;
                continue;
            }

            ulong g = Machine.Memory.ReadWord(tableBase + ((ulong)j << Pte.EntryShift));
            bool present = (g & Pte.Present) != 0;
            if (_xen)
            {
                if (present && ((g & Pte.Accessed) == 0 || (g & (Pte.Rw | Pte.Dirty)) == Pte.Rw))
                {
                    break; // "an entry that will need another fault for A/D-bit propagation anyway"
                }

                SetLeafFromGuest(page, j, g); // not present: a GNP magic entry
                if (present)
                {
                    filled++;
                }

                continue;
            }

            if (!present || (g & Pte.Accessed) == 0)
            {
                break; // FNAME(prefetch_gpte) fails on an invalid gpte and ends the loop
            }

            SetLeafFromGuest(page, j, g);
            filled++;
        }

        Count(Cnt.Prefetched, filled);
        return filled;
    }

    /// <summary>
    /// A guest write whose target frame is a write-protected page table, reached through a data mapping: the
    /// write fault of Xen/KVM on a shadowed frame, handled as a <c>ptwrite</c> would be. A leaf table that may go
    /// out of sync is unsynced (Xen: even for a user-mode write) and the mapping filled writable; Xen unshadows on
    /// a user-mode write. Anything else is emulated (the data is unknown: a non-zero write).
    /// </summary>
    public Translation DataWriteToTable(in MemoryAccess a, FrameState fs, in WalkResult w, in WalkRecorder tables)
    {
        ulong gfn = w.FrameOf(a.Va) >> Pte.PageShift;
        bool unsync = _o.Oos && fs.MayUnsync;
        bool unshadow = _xen && a.User; // Xen never emulates a user-mode page-table write
        if (unsync || unshadow)
        {
            if (unsync)
            {
                _m.Oos.Unsync(a.Vcpu, gfn, fs);
            }

            if (unshadow)
            {
                Exit(UnshadowExit, _m.Pool.Unshadow(gfn));
            }
            else
            {
                _m.Oos.UnsyncFixed(a.Vcpu);
                Exit(OosUnsync);
            }

            // Either way the frame is writable now: the fault fills the mapping and the write runs.
            FillPath(a.Vcpu, a.Va, w, tables, out _);
            UpdatePages();
            var v = Machine.Vcpus[a.Vcpu];
            return ShadowMmu.Insert(v, a, _m.HardwareWalk(v, _m.Roots.CurrentRoot(a.Vcpu), a.Va));
        }

        _m.Emulation.KvmClearFloodAlong(a.Vcpu, a.Va);
        return EmulateDataWrite(a, w, fast: false);
    }

    /// <summary>The emulated store of a data write to a write-protected table: 8 bytes at the va's offset, value unknown.</summary>
    public Translation EmulateDataWrite(in MemoryAccess a, in WalkResult w, bool fast)
    {
        ulong frame = w.FrameOf(a.Va);
        ulong pa = frame | (a.Va & 0xFF8);
        _m.Emulation.EmulateWrite(a.Vcpu, pa, 8, value: ulong.MaxValue, storeValue: false, a.Va >> Pte.PageShift, fast);
        return new Translation(frame, w.Perms, false);
    }

    /// <summary>A shadow L1 entry derived from guest leaf entry <paramref name="g"/> (A/D emulation per SPEC's dirty tracking).</summary>
    public ulong LeafFromGuest(ulong g)
    {
        if ((g & Pte.Present) == 0)
        {
            return _xen ? SEntry.Gnp : 0;
        }

        if ((g & Pte.Accessed) == 0)
        {
            return 0;
        }

        ulong frame = g & Pte.AddrMask;
        ulong e = frame | (g & SEntry.GuestFlags) | SEntry.Present;
        if ((g & (Pte.Rw | Pte.Dirty)) == (Pte.Rw | Pte.Dirty) && _store.Frame(frame >> Pte.PageShift) is not { Protected: true })
        {
            e |= SEntry.HwWrite;
        }

        return e;
    }

    /// <summary>
    /// A 4 KiB splinter of a guest superpage: permissions live in the shadow entry that points to the splinter
    /// page (copied from the guest's large entry), so the splinter entry itself only carries G and, when the
    /// large entry is dirty, hardware write access.
    /// </summary>
    public ulong SplinterLeaf(ulong frame, ulong large)
    {
        ulong e = frame | Pte.Rw | Pte.Us | (large & Pte.Global) | SEntry.Present;
        if ((large & (Pte.Rw | Pte.Dirty)) == (Pte.Rw | Pte.Dirty) && _store.Frame(frame >> Pte.PageShift) is not { Protected: true })
        {
            e |= SEntry.HwWrite;
        }

        return e;
    }

    /// <summary>
    /// Propagates guest entry <paramref name="g"/> into a shadow L1. On an out-of-sync page the snapshot entry is
    /// updated too (Xen's <c>sh_page_fault</c>, <c>sh_prefetch</c> and <c>sh_invlpg</c> do), so a later resync
    /// diffs against what the shadow now reflects.
    /// </summary>
    public void SetLeafFromGuest(ShadowPage page, int index, ulong g)
    {
        SetLeaf(page, index, LeafFromGuest(g));
        if (_xen && _store.Frame(page.Gfn) is { Oos: true, Snapshot: { } snap })
        {
            snap[index] = g;
        }
    }

    public void SetLeaf(ShadowPage page, int index, ulong e)
    {
        page.E[index] = e;
        if ((e & SEntry.HwWrite) != 0)
        {
            _store.NoteWritable((e & Pte.AddrMask) >> Pte.PageShift, page, index);
        }
    }

    /// <summary>KVM's prefetched leaf: the shadow entry derived from the guest entry, as a fault would fill it.</summary>
    private readonly struct GuestLeaves(ShadowFaults f) : IPrefetchLeaf
    {
        public void Fill(ShadowPage page, int index, ulong guestEntry) => f.SetLeafFromGuest(page, index, guestEntry);
    }
}
