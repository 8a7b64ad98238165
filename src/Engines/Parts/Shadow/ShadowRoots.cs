using Replay.Engines.Contract;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Hardware;
using static Replay.Engines.Parts.Shadow.ShadowKinds;

namespace Replay.Engines.Parts.Shadow;

/// <summary>The shadow part for roots: CR3 loads, flushes and INVLPG (Xen <c>sh_update_cr3</c>, <c>sh_invlpg</c>; KVM <c>kvm_mmu_new_pgd</c>, <c>kvm_mmu_invlpg</c>).</summary>
internal sealed class ShadowRoots(ShadowMmu m) : ShadowPart(m)
{
    public void LoadCr3(in Cr3Load load)
    {
        var vs = _v[load.Vcpu];
        ulong gfn = (load.Value & Pte.AddrMask) >> Pte.PageShift;
        if (_m.PcidHidden && (load.Value & (Pte.PcidMask | Pte.Cr3NoFlush)) != 0)
        {
            Count(Cnt.PcidHidden); // the guest has no PCID: the bits are ignored and the load flushes (Machine.Config.Pcid is off)
        }

        bool noFlush = Machine.Config.Pcid && (load.Value & Pte.Cr3NoFlush) != 0;
        int built = 0;
        if (_xen)
        {
            // sh_update_cr3: resync this vCPU's OOS pages, find (or build) the top-level shadow, pin it at the head
            // of the pinned list, then make other vCPUs' OOS pages safe for the new tables.
            _m.Oos.XenResyncOwn(load.Vcpu);
            var root = FindRoot(gfn, ref built);
            Pin(root);
            SetRoot(load.Vcpu, root);
            XenSyncOthers(load.Vcpu, root);
            vs.LastWriteEmulOk = false;
            vs.Dying = false;
        }
        else
        {
            KvmNewPgd(load.Vcpu, gfn, ref built);
            if (!noFlush)
            {
                _m.Oos.KvmSyncRoots(vs, includePrev: false); // kvm_invalidate_pcid → KVM_REQ_MMU_SYNC
            }
        }

        HardwareMmu.LoadCr3(Machine, load);
        Exit(Cr3Switch, built);
        UpdatePages();
    }

    public void Invalidate(in Invalidation inv)
    {
        var vs = _v[inv.Vcpu];
        if (inv.Kind == InvalidationKind.Page)
        {
            // sh_invlpg / kvm_mmu_invlpg: an out-of-sync leaf entry for the va is brought up to date (KVM: under
            // every cached root), then the hardware drops the va.
            Count(Cnt.Invlpg);
            vs.LastWriteEmulOk = false;
            _m.Oos.ResyncEntry(CurrentRoot(inv.Vcpu), inv.Va);
            if (!_xen)
            {
                foreach (var p in vs.Prev)
                {
                    if (p is { Dead: false })
                    {
                        _m.Oos.ResyncEntry(p, inv.Va);
                    }
                }
            }

            HardwareMmu.Invalidate(Machine, inv);
            Exit(InvlpgExit);
            return;
        }

        // A guest TLB flush (CR4.PGE toggle, INVPCID, or flush 0 as a CR3 reload) is a full resync, as at a CR3 load.
        if (_xen)
        {
            var root = CurrentRoot(inv.Vcpu);
            _m.Oos.XenResyncOwn(inv.Vcpu);
            XenSyncOthers(inv.Vcpu, root);
            vs.LastWriteEmulOk = false;
        }
        else
        {
            CurrentRoot(inv.Vcpu);
            _m.Oos.KvmSyncRoots(vs, includePrev: true); // kvm_vcpu_flush_tlb_guest
        }

        HardwareMmu.Invalidate(Machine, inv);
        Exit(inv.Kind == InvalidationKind.All ? FlushAll : Cr3Switch);
        UpdatePages();
    }

    /// <summary>
    /// Xen <c>shadow_sync_other_vcpus</c>: other vCPUs' OOS pages are updated but stay out of sync, skipping those
    /// the new tables do not map (<c>sh_safe_not_to_sync</c>).
    /// </summary>
    public void XenSyncOthers(int vcpu, ShadowPage root)
    {
        for (int o = 0; o < _v.Length; o++)
        {
            if (o == vcpu)
            {
                continue;
            }

            foreach (ulong gfn in _v[o].Oos)
            {
                if (gfn != VcpuShadow.None && _store.Frame(gfn)?.Find(ShadowType.L1) is { } l1 && _m.Oos.Reachable(l1, root))
                {
                    _m.Oos.ResyncOnly(gfn);
                }
            }
        }
    }

    /// <summary>The top-level shadow of guest root <paramref name="gfn"/>, built (after preallocating) on a miss.</summary>
    public ShadowPage FindRoot(ulong gfn, ref int built)
    {
        var existing = _store.Find(gfn, _m.Top);
        if (existing is not null)
        {
            Count(Cnt.HashLookups);
            existing.Flood = 0;
            return existing;
        }

        _m.Pool.Preallocate(1);
        return _m.Pool.GetOrCreate(gfn, _m.Top, ref built);
    }

    /// <summary>Xen <c>sh_set_m.Toplevel_shadow</c>: pin, most recently loaded first.</summary>
    public void Pin(ShadowPage root)
    {
        root.Pinned = true;
        if (root.PinNode is null)
        {
            root.PinNode = _store.Pinned.AddFirst(root);
        }
        else if (root.PinNode != _store.Pinned.First)
        {
            _store.Pinned.Remove(root.PinNode);
            _store.Pinned.AddFirst(root.PinNode);
        }
    }

    /// <summary>Makes <paramref name="root"/> the vCPU's current root; the old one loses the vCPU's reference.</summary>
    public void SetRoot(int vcpu, ShadowPage root)
    {
        var vs = _v[vcpu];
        var old = vs.Root;
        if (old == root)
        {
            return;
        }

        root.RootCount++;
        vs.Root = root;
        if (old is { Dead: false })
        {
            old.RootCount--;
            _m.Pool.Release(old);
        }
    }

    /// <summary>
    /// KVM <c>kvm_mmu_new_pgd</c> → <c>fast_pgd_switch</c>: the current root and <c>roots</c> previous ones are
    /// cached per vCPU, most recently used first; a hit swaps roots, a miss pushes the current root into the cache
    /// (dropping the least recently used) and loads the root's shadow page from the hash, or builds it.
    /// </summary>
    public void KvmNewPgd(int vcpu, ulong gfn, ref int built)
    {
        var vs = _v[vcpu];
        var current = vs.Root is { Dead: false } c ? c : null;
        if (current is not null && current.Gfn == gfn)
        {
            current.Flood = 0; // kvm_mmu_new_pgd clears the reused root's write-flooding count
            return;
        }

        var prev = vs.Prev;
        int hit = -1;
        for (int i = 0; i < prev.Length; i++)
        {
            if (prev[i] is { Dead: false } p && p.Gfn == gfn)
            {
                hit = i;
                break;
            }
        }

        ShadowPage next;
        if (hit >= 0)
        {
            Count(Cnt.PrevRootHits);
            next = prev[hit]!;
            Array.Copy(prev, 0, prev, 1, hit);
            prev[0] = current;
            vs.Root = next;
            next.Flood = 0;
            return;
        }

        // Miss: the current root goes to the front of the cache; the oldest cached root is released.
        if (prev.Length == 0)
        {
            if (current is not null)
            {
                current.RootCount--;
            }
        }
        else
        {
            if (prev[^1] is { Dead: false } evicted)
            {
                evicted.RootCount--;
            }

            Array.Copy(prev, 0, prev, 1, prev.Length - 1);
            prev[0] = current;
        }

        vs.Root = null;
        next = FindRoot(gfn, ref built);
        next.RootCount++;
        vs.Root = next;
    }

    /// <summary>
    /// Xen <c>sh_pagetable_dying</c> (HVMOP_pagetable_dying, a VMCALL): the hierarchy rooted at the hinted frame
    /// is being torn down. Its top-level shadow loses its user mappings (freeing the shadows below), or goes
    /// entirely if no vCPU has it loaded; from now on the domain uses the hint instead of the two-write heuristic,
    /// and this vCPU unshadows at the first emulated zero write.
    /// </summary>
    public void XenPagetableDying(in TableDying hint)
    {
        ulong gfn = hint.Pa >> Pte.PageShift;
        _m.DyingOp = true;
        _v[hint.Vcpu].Dying = true;
        long freed = 0;
        if (_store.Frame(gfn)?.Find(_m.Top) is { } top)
        {
            freed = top.RootCount == 0 ? _m.Pool.Unshadow(gfn) : _m.Pool.UnhookUser(top);
        }

        Exit(DyingHypercall, freed);
        UpdatePages();
    }

    /// <summary>The vCPU's current root, created if it has none yet (a trace that starts without a CR3 load, or a KVM root zapped under it).</summary>
    public ShadowPage CurrentRoot(int vcpu)
    {
        var vs = _v[vcpu];
        if (vs.Root is { Dead: false } r)
        {
            return r;
        }

        int created = 0;
        _m.Pool.Preallocate(1);
        var root = _m.Pool.GetOrCreate(Machine.Vcpus[vcpu].Cr3 >> Pte.PageShift, _m.Top, ref created);
        SetRoot(vcpu, root);
        UpdatePages();
        return root;
    }

    /// <summary>
    /// Builds (or finds) the top-level shadow of <paramref name="vcpu"/>'s loaded guest root and makes it current, as
    /// <c>sh_update_cr3</c> does when a paging mode is entered (Xen pins it); returns the shadow pages built.
    /// </summary>
    public int Adopt(int vcpu)
    {
        int built = 0;
        var root = FindRoot(Machine.Vcpus[vcpu].Cr3 >> Pte.PageShift, ref built);
        if (_xen)
        {
            Pin(root);
        }

        SetRoot(vcpu, root);
        UpdatePages();
        return built;
    }
}
