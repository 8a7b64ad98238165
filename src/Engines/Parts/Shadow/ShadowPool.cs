using Replay.Engines.Contract;
using static Replay.Engines.Parts.Shadow.ShadowKinds;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// The shadow part for the page pool: lookup-or-create and allocation under pressure (Xen <c>_shadow_prealloc</c>, KVM
/// <c>make_mmu_pages_available</c>); <c>ShadowPool.Free.cs</c> frees (unshadowing, zapping).
/// </summary>
internal sealed partial class ShadowPool(ShadowMmu m) : ShadowPart(m)
{
    /// <summary>
    /// The shadow of (<paramref name="gfn"/>, <paramref name="type"/>) from the hash, or a new one. A new table
    /// shadow promotes its frame: an out-of-sync frame is resynced first (Xen <c>shadow_promote</c>), KVM zaps
    /// unsync leaf pages of a frame that now needs an upper shadow, and the frame is write-protected.
    /// </summary>
    public ShadowPage GetOrCreate(ulong gfn, ShadowType type, ref int created)
    {
        Count(Cnt.HashLookups);
        var p = _store.Find(gfn, type);
        if (p is not null)
        {
            p.Flood = 0; // KVM: a lookup hit is a use (clear_sp_write_flooding_count)
            if (!_xen && type == ShadowType.L1 && _store.Frame(gfn) is { Oos: true } unsync)
            {
                _m.Oos.KvmSyncPageKeepUnsync(unsync); // kvm_mmu_find_shadow_page syncs an unsync page it hands out
            }

            return p;
        }

        Count(Cnt.HashMiss);
        bool table = type < ShadowType.Fl1;
        if (table && _store.Frame(gfn) is { Oos: true } fs)
        {
            if (_xen)
            {
                _m.Oos.ResyncFull(gfn);
            }
            else
            {
                var unsync = fs.Find(ShadowType.L1)!;
                Within(UnshadowWithin, Zap(unsync));
            }
        }

        p = _store.Create(gfn, type);
        created++;
        Stats.ShadowPagesCreated++;
        if (table)
        {
            _m.WriteProtect(gfn);
        }

        return p;
    }

    /// <summary>Makes room for <paramref name="pages"/> new shadow pages by the personality's rule.</summary>
    public void Preallocate(int pages)
    {
        if (_xen)
        {
            XenPrealloc(pages);
        }
        else
        {
            KvmMakePagesAvailable();
        }
    }

    /// <summary>
    /// Xen <c>_shadow_prealloc</c>: stage one unpins top-level shadows from the least recently loaded end until
    /// enough is free (a root still loaded on a vCPU survives its unpin); stage two unhooks everything below
    /// each vCPU's current root and flushes TLBs.
    /// </summary>
    private void XenPrealloc(int pages)
    {
        if (_store.Live + pages <= _o.PoolPages)
        {
            return;
        }

        long before = _store.Live;
        Count(Cnt.Prealloc1);
        for (var node = _store.Pinned.Last; node is not null && _store.Live + pages > _o.PoolPages;)
        {
            var prevNode = node.Previous;
            var root = node.Value;
            _store.Pinned.Remove(node);
            root.PinNode = null;
            root.Pinned = false;
            Release(root);
            node = prevNode;
        }

        if (_store.Live + pages > _o.PoolPages)
        {
            Count(Cnt.Prealloc2);
            foreach (var vs in _v)
            {
                if (vs.Root is { Dead: false } r)
                {
                    UnhookAll(r);
                }

                if (_store.Live + pages <= _o.PoolPages)
                {
                    break;
                }
            }
        }

        Evicted(before - _store.Live);
        FlushEverywhere();
    }

    /// <summary>
    /// KVM <c>make_mmu_pages_available</c>: with fewer than 5 pages free, zap the oldest-created pages that are
    /// no vCPU's root until 25 are free (<c>kvm_mmu_zap_oldest_mmu_pages</c>), then flush remote TLBs.
    /// </summary>
    private void KvmMakePagesAvailable()
    {
        long avail = _o.PoolPages - _store.Live;
        if (avail >= ShadowOptions.KvmMinFree)
        {
            return;
        }

        long toZap = ShadowOptions.KvmRefill - avail;
        long zapped = 0;
        for (var node = _store.Active.Last; node is not null && zapped < toZap;)
        {
            var p = node.Value;
            node = node.Previous; // a zap removes only the page itself
            if (p.RootCount == 0)
            {
                zapped += Zap(p);
            }
        }

        Count(Cnt.Recycled, zapped);
        Evicted(zapped);
        FlushEverywhere();
    }

    public void Evicted(long pages)
    {
        if (pages > 0)
        {
            Stats.ShadowPagesEvicted += pages;
            Within(UnshadowWithin, pages);
        }
    }
}
