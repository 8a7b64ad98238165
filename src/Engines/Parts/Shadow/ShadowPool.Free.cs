using Replay.Engines.Contract;
using Replay.Engines.Paging;
using static Replay.Engines.Parts.Shadow.ShadowKinds;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// Freeing shadows. Xen frees by reference count: a lower shadow lives while a parent entry links it, a top-level
/// one while pinned or loaded (<c>sh_put_ref</c>, <c>sh_remove_shadows</c>). KVM zaps a page and leaves its
/// children in the hash, unlinked, until they are zapped in turn (<c>kvm_mmu_prepare_zap_page</c>).
/// </summary>
internal sealed partial class ShadowPool
{
    /// <summary>Xen: frees <paramref name="p"/> (and what only it held) once nothing references it. KVM keeps orphans.</summary>
    public long Release(ShadowPage p)
    {
        if (!_xen || p.Dead || p.Parents.Count > 0 || p.Pinned || p.RootCount > 0)
        {
            return 0;
        }

        return Destroy(p);
    }

    /// <summary>Xen: clears every entry of <paramref name="p"/> (releasing its children) and removes it.</summary>
    public long Destroy(ShadowPage p)
    {
        long freed = UnhookAll(p);
        RemovePage(p);
        return freed + 1;
    }

    /// <summary>Clears every entry of <paramref name="p"/>; Xen releases the children it held. Returns pages freed.</summary>
    public long UnhookAll(ShadowPage p) => UnhookRange(p, 0, Pte.EntriesPerTable);

    /// <summary>Xen <c>shadow_unhook_mappings(user_only)</c> on a top-level shadow: the lower half of its entries.</summary>
    public long UnhookUser(ShadowPage top)
    {
        long freed = UnhookRange(top, 0, 256);
        FlushEverywhere();
        return freed;
    }

    private long UnhookRange(ShadowPage p, int from, int to)
    {
        long freed = 0;
        for (int i = from; i < to; i++)
        {
            if ((p.E[i] & SEntry.Present) == 0)
            {
                p.E[i] = 0;
                continue;
            }

            if (p.Level == 1)
            {
                p.E[i] = 0;
                continue;
            }

            var child = _store.Unlink(p, i);
            if (child is not null)
            {
                freed += Release(child);
            }
        }

        return freed;
    }

    /// <summary>
    /// Xen <c>sh_remove_shadows</c>: every shadow of the frame is unhooked from its parents and freed, except a
    /// top-level shadow a vCPU has loaded, which is only unpinned ("fast, can fail to unshadow"). Returns pages freed.
    /// </summary>
    public long Unshadow(ulong gfn)
    {
        var fs = _store.Frame(gfn);
        if (fs is null)
        {
            return 0;
        }

        Count(Cnt.Unshadow);
        Stats.Unshadows++;
        long freed = 0;
        foreach (var s in fs.Shadows.ToArray())
        {
            if (s.Dead)
            {
                continue;
            }

            if (s.Pinned)
            {
                _store.Pinned.Remove(s.PinNode!);
                s.PinNode = null;
                s.Pinned = false;
            }

            if (s.RootCount > 0)
            {
                continue;
            }

            UnlinkParents(s);
            freed += Destroy(s);
        }

        FlushEverywhere();
        return freed;
    }

    /// <summary>
    /// KVM <c>kvm_mmu_prepare_zap_page</c>: unlink the page from its parents and its children from it, and drop
    /// it; a root still in use is dropped from the vCPUs' root caches (they reload). Returns 1.
    /// </summary>
    public long Zap(ShadowPage p)
    {
        Count(Cnt.Zapped);
        UnlinkParents(p);
        for (int i = 0; i < Pte.EntriesPerTable; i++)
        {
            if (p.Level > 1 && (p.E[i] & SEntry.Present) != 0)
            {
                _store.Unlink(p, i);
            }

            p.E[i] = 0;
        }

        if (p.RootCount > 0)
        {
            foreach (var vs in _v)
            {
                if (vs.Root == p)
                {
                    vs.Root = null;
                }

                for (int i = 0; i < vs.Prev.Length; i++)
                {
                    if (vs.Prev[i] == p)
                    {
                        vs.Prev[i] = null;
                    }
                }
            }

            p.RootCount = 0;
        }

        RemovePage(p);
        return 1;
    }

    public void UnlinkParents(ShadowPage p)
    {
        foreach (long loc in p.Parents.ToArray())
        {
            _store.Unlink(_store.Page((int)(loc >> Pte.BitsPerLevel)), (int)(loc & Pte.IndexMask));
        }
    }

    /// <summary>
    /// Removes a page from the store; a frame left without shadows leaves its OOS slot. The TLBs and
    /// paging-structure caches are flushed: they may hold what the page mapped, or (with PCIDs kept across
    /// CR3 loads) its id, which a new page may reuse. Xen's <c>shadow_free</c> also clears every vCPU's
    /// <c>last_write_emul_ok</c>: the fast emulation path must not trust a frame whose shadows may have changed.
    /// </summary>
    public void RemovePage(ShadowPage p)
    {
        var fs = p.IsSplinter ? null : _store.Frame(p.Gfn);
        _store.Remove(p);
        FlushEverywhere();
        foreach (var vs in _v)
        {
            vs.LastWriteEmulOk = false;
        }

        if (fs is { Oos: true } && fs.Shadows.Count == 0)
        {
            if (_xen)
            {
                _m.Oos.RemoveFromSlots(fs.OosVcpu, p.Gfn);
            }

            fs.Oos = false;
            _m.Oos.Frames.Remove(p.Gfn);
        }
    }
}
