using Replay.Engines.Contract;
using Replay.Engines.Paging;
using static Replay.Engines.Parts.Shadow.ShadowKinds;

namespace Replay.Engines.Parts.Shadow;

/// <summary>The shadow part for out-of-sync leaf tables: Xen's OOS L1s (oos.c) and KVM's unsync pages (<c>kvm_sync_page</c>).</summary>
internal sealed class OutOfSync(ShadowMmu m) : ShadowPart(m)
{
    /// <summary>Unsyncs a leaf table frame on a write fault by <paramref name="vcpu"/> (Xen <c>sh_unsync</c>, KVM <c>kvm_unsync_page</c>).</summary>
    public void Unsync(int vcpu, ulong gfn, FrameState fs)
    {
        Count(Cnt.Unsync);
        Stats.Unsyncs++;
        if (_xen)
        {
            OosHashAdd(vcpu, gfn);
            fs.OosVcpu = vcpu;
            fs.Snapshot = (ulong[]?)Machine.Memory.Frame(gfn)?.Clone() ?? new ulong[Pte.EntriesPerTable];
        }

        fs.Oos = true;
        Frames.Add(gfn);
    }

    /// <summary>
    /// A write fault that unsynced its table ends as a fixed fault: Xen skips the emulate path for an out-of-sync
    /// frame and falls through to <c>shadow_fault_fixed</c> (which also resets early unshadow); KVM's fetch returns
    /// RET_PF_FIXED (<c>pf_fixed</c>).
    /// </summary>
    public void UnsyncFixed(int vcpu)
    {
        Count(Cnt.Fixed);
        _v[vcpu].LastUnshadowFrame = VcpuShadow.None;
    }

    /// <summary>
    /// Xen <c>oos_hash_add</c>: slot = frame mod 3; an occupant sitting in its own home slot is moved on to the
    /// next (second chance), and whoever is there is evicted with a full resync.
    /// </summary>
    private void OosHashAdd(int vcpu, ulong gfn)
    {
        var slots = _v[vcpu].Oos;
        int n = slots.Length;
        int idx = (int)(gfn % (ulong)n);
        ulong placing = gfn;
        if (slots[idx] != VcpuShadow.None && (int)(slots[idx] % (ulong)n) == idx)
        {
            (slots[idx], placing) = (placing, slots[idx]);
            idx = (idx + 1) % n;
        }

        if (slots[idx] != VcpuShadow.None)
        {
            Count(Cnt.UnsyncEvict);
            ResyncFull(slots[idx]);
        }

        slots[idx] = placing;
    }

    /// <summary>
    /// Pulls an out-of-sync frame back into sync: write-protect it again, then bring its shadow up to date
    /// (Xen <c>_sh_resync</c>: diff against the snapshot; KVM <c>kvm_sync_page</c>: re-read every entry).
    /// Units: the 512 entries compared.
    /// </summary>
    public void ResyncFull(ulong gfn)
    {
        var fs = _store.Frame(gfn);
        if (fs is not { Oos: true })
        {
            return;
        }

        if (_xen)
        {
            RemoveFromSlots(fs.OosVcpu, gfn);
        }

        fs.Oos = false;
        Frames.Remove(gfn);
        _m.WriteProtect(gfn);
        RefreshLeafTable(fs, keepSnapshot: false);
        fs.Snapshot = null;
        Count(Cnt.Resync);
        Stats.Resyncs++;
        Within(OosResync, Pte.EntriesPerTable);
        FlushEverywhere(); // oos.c: "we just have to be very careful to *always* flush the tlbs on resync"
    }

    /// <summary>
    /// Xen <c>_sh_resync_l1</c> alone (another vCPU's OOS page at a CR3 load, <c>shadow_sync_other_vcpus</c>):
    /// the shadow is brought up to date and the snapshot with it, but the page stays out of sync.
    /// </summary>
    public void ResyncOnly(ulong gfn)
    {
        var fs = _store.Frame(gfn)!;
        RefreshLeafTable(fs, keepSnapshot: true);
        Count(Cnt.ResyncOnly);
        Within(OosResync, Pte.EntriesPerTable);
        FlushEverywhere();
    }

    /// <summary>
    /// KVM <c>kvm_mmu_find_shadow_page</c> on an unsync page: <c>kvm_sync_page</c> brings its sptes up to date but
    /// "doesn't write-protect the page or mark it synchronized": it stays unsync and writable until the guest
    /// flushes. Units: the 512 entries compared; a remote flush if an spte changed.
    /// </summary>
    public void KvmSyncPageKeepUnsync(FrameState fs)
    {
        bool changed = RefreshLeafTable(fs, keepSnapshot: true);
        Count(Cnt.ResyncOnly);
        Within(OosResync, Pte.EntriesPerTable);
        if (changed)
        {
            FlushEverywhere();
        }
    }

    /// <summary>Brings a leaf table's shadow up to date with the guest; returns whether a present entry changed.</summary>
    private bool RefreshLeafTable(FrameState fs, bool keepSnapshot)
    {
        var page = fs.Find(ShadowType.L1);
        if (page is null)
        {
            return false;
        }

        var guest = Machine.Memory.Frame(page.Gfn);
        var snap = fs.Snapshot;
        bool changed = false;
        for (int i = 0; i < Pte.EntriesPerTable; i++)
        {
            ulong g = guest is null ? 0 : guest[i];
            if (_xen)
            {
                if (snap is not null && snap[i] == g)
                {
                    continue;
                }

                if (keepSnapshot && snap is not null)
                {
                    snap[i] = g;
                }

                ulong before = page.E[i];
                _m.Faults.SetLeaf(page, i, _m.Faults.LeafFromGuest(g));
                changed |= (before & SEntry.Present) != 0 && before != page.E[i];
            }
            else
            {
                changed |= KvmSyncSpte(page, i, g);
            }
        }

        return changed;
    }

    /// <summary>
    /// KVM v6.4+ <c>kvm_sync_spte</c> → <c>FNAME(sync_spte)</c> for entry <paramref name="i"/> of an unsync page,
    /// given guest entry <paramref name="g"/>: an empty spte is left alone; one whose guest entry is no longer
    /// present and accessed (<c>prefetch_invalid_gpte</c>) or now maps another gfn is dropped, not refilled;
    /// otherwise its permissions are brought up to date in place. Returns whether a present spte changed.
    /// </summary>
    private bool KvmSyncSpte(ShadowPage page, int i, ulong g)
    {
        ulong e = page.E[i];
        if (e == 0)
        {
            return false;
        }

        bool valid = (g & (Pte.Present | Pte.Accessed)) == (Pte.Present | Pte.Accessed);
        page.E[i] = 0;
        if (valid && (g & Pte.AddrMask) == (e & Pte.AddrMask))
        {
            _m.Faults.SetLeaf(page, i, _m.Faults.LeafFromGuest(g));
        }

        return page.E[i] != e;
    }

    /// <summary>
    /// INVLPG on an out-of-sync leaf table, for the one entry (oos.c rule 2's exception). Xen <c>sh_invlpg</c>
    /// writes an empty shadow entry (the snapshot is left alone): the next access faults and refills it from the
    /// guest. KVM (v6.4+ <c>kvm_mmu_invalidate_addr</c> → <c>FNAME(sync_spte)</c>) looks only at a non-empty spte:
    /// it is dropped if the guest entry is no longer present and accessed or now maps another frame, else its
    /// permissions are brought up to date in place; it is never refilled here.
    /// </summary>
    public void ResyncEntry(ShadowPage root, ulong va)
    {
        var page = root;
        for (int level = Levels; level >= 2; level--)
        {
            ulong e = page.E[Pte.Index(va, level)];
            if (!SEntry.IsLink(e))
            {
                return; // nothing below, or a huge spte: no unsync leaf table on this walk
            }

            page = _store.Page(SEntry.Child(e));
        }

        if (page.Type != ShadowType.L1 || _store.Frame(page.Gfn) is not { Oos: true })
        {
            return;
        }

        int i = Pte.Index(va, 1);
        if (_xen)
        {
            page.E[i] = 0;
        }
        else
        {
            if (page.E[i] == 0)
            {
                return; // kvm_sync_spte: nothing shadowed for this entry
            }

            KvmSyncSpte(page, i, Machine.Memory.ReadWord((page.Gfn << Pte.PageShift) + ((ulong)i << Pte.EntryShift)));
        }

        Within(OosResync, 1);
    }

    public void RemoveFromSlots(int vcpu, ulong gfn)
    {
        var slots = _v[vcpu].Oos;
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] == gfn)
            {
                slots[i] = VcpuShadow.None;
            }
        }
    }

    /// <summary>
    /// Xen <c>shadow_resync_current_vcpu</c> (at a CR3 load or guest TLB flush): this vCPU's OOS pages are
    /// resynced; other vCPUs' are then made safe by <c>XenSyncOthers</c>.
    /// </summary>
    public void XenResyncOwn(int vcpu)
    {
        var slots = _v[vcpu].Oos;
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[i] != VcpuShadow.None)
            {
                ResyncFull(slots[i]); // empties the slot
            }
        }
    }

    /// <summary>KVM <c>kvm_mmu_sync_roots</c> (and <c>kvm_mmu_sync_prev_roots</c>): sync every unsync page under the given roots.</summary>
    public void KvmSyncRoots(VcpuShadow vs, bool includePrev)
    {
        _unsyncScratch.Clear();
        foreach (ulong gfn in Frames)
        {
            if (_store.Frame(gfn)?.Find(ShadowType.L1) is { } p
                && ((vs.Root is { } r && Reachable(p, r)) || (includePrev && vs.Prev.Any(q => q is not null && Reachable(p, q)))))
            {
                _unsyncScratch.Add(gfn);
            }
        }

        _unsyncScratch.Sort();

        foreach (ulong gfn in _unsyncScratch)
        {
            ResyncFull(gfn);
        }
    }

    private readonly List<ulong> _unsyncScratch = [];

    /// <summary>Every out-of-sync frame (Xen: over all vCPUs' slots; KVM: the unsync pages).</summary>
    public HashSet<ulong> Frames { get; } = [];

    /// <summary>Whether <paramref name="page"/> hangs below <paramref name="root"/> (following parent links up).</summary>
    public bool Reachable(ShadowPage page, ShadowPage root)
    {
        if (page == root)
        {
            return true;
        }

        foreach (long loc in page.Parents)
        {
            if (Reachable(_store.Page((int)(loc >> Pte.BitsPerLevel)), root))
            {
                return true;
            }
        }

        return false;
    }
}
