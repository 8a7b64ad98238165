using Replay.Engines.Caches;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.Parts.Hardware;

/// <summary>
/// What x86 hardware does when it translates through the guest's own tables (native, and later the PV and
/// EPT engines for the guest dimension): TLB lookup, 1-D walk on a miss, A/D updates, and the architectural
/// effects of CR3 loads, INVLPG and flushes on the TLB and paging-structure caches.
/// </summary>
public static class HardwareMmu
{
    /// <summary>
    /// Translates one access. A TLB hit that does not permit the access (a stale narrower entry, or a write
    /// through an entry whose D bit is clear) is dropped and re-walked, as the processor does; that re-walk
    /// counts as a TLB miss and bumps counter <paramref name="permissionRewalkCounter"/>.
    /// </summary>
    public static Translation Translate(GuestMachine m, EngineStats stats, in MemoryAccess a, int permissionRewalkCounter)
    {
        if (TryTlbHit(m, stats, a, permissionRewalkCounter, out var hit))
        {
            return hit;
        }

        var v = m.Vcpus[a.Vcpu];
        var w = Walk(m, a, out var served);
        served.AddTo(stats);
        if (w.PscHit)
        {
            stats.PscHits++;
        }

        if (w.Fault)
        {
            stats.GuestFaults++;
            return Translation.GuestFault;
        }

        v.Tlb.Insert(a.Va, v.Pcid, a.Kind, w.PageShift, w.PageBase, w.Perms, w.Perms, w.Dirty, w.Global);
        return new Translation(w.FrameOf(a.Va), w.Perms, false);
    }

    /// <summary>
    /// The hardware walk of the guest's own tables for <paramref name="a"/> (A/D set, paging-structure caches used),
    /// every entry read through the memory hierarchy; <paramref name="served"/> says where each was found.
    /// </summary>
    public static WalkResult Walk(GuestMachine m, in MemoryAccess a, out WalkServed served)
    {
        var v = m.Vcpus[a.Vcpu];
        var tables = new CachedTableAccess(m.Caches, a.Vcpu);
        var w = PageWalker.Walk(m.Memory, v.Cr3, a.Va, a.Kind, a.User, m.Levels, setAccessedDirty: true, v.Psc, v.Pcid, ref tables);
        served = tables.Served;
        return w;
    }

    /// <summary>
    /// The TLB side of an access on the guest's own translations: a hit that permits the access (and, for a write,
    /// has D set) is the translation; a hit that does not is dropped and counted in counter
    /// <paramref name="permissionRewalkCounter"/>. On false the access is a TLB miss, already counted.
    /// </summary>
    public static bool TryTlbHit(GuestMachine m, EngineStats stats, in MemoryAccess a, int permissionRewalkCounter, out Translation translation)
    {
        var v = m.Vcpus[a.Vcpu];
        if (v.Tlb.Lookup(a.Va, v.Pcid, a.Kind, out var hit))
        {
            if (PageWalker.Permits(hit.HwPerms, a.Kind, a.User) && (a.Kind != AccessKind.Write || hit.Dirty))
            {
                translation = new Translation(hit.Frame, hit.GuestPerms, false);
                return true;
            }

            v.Tlb.InvalidatePage(a.Va, v.Pcid);
            stats.Counters[permissionRewalkCounter]++;
        }

        stats.TlbMisses++;
        translation = default;
        return false;
    }

    /// <summary>
    /// MOV to CR3: without PCID every non-global translation goes; with PCID the new PCID's non-global
    /// translations go unless bit 63 is set (Intel SDM Vol. 3 §4.10.4.1).
    /// </summary>
    public static void LoadCr3(GuestMachine m, in Cr3Load load)
    {
        var v = m.Vcpus[load.Vcpu];
        v.Cr3 = load.Value & Pte.AddrMask;
        if (!m.Config.Pcid)
        {
            v.Pcid = 0;
            v.Tlb.Flush(null, includeGlobal: false);
            v.Psc.FlushAll();
            return;
        }

        v.Pcid = (ushort)(load.Value & Pte.PcidMask);
        if ((load.Value & Pte.Cr3NoFlush) == 0)
        {
            v.Tlb.Flush(v.Pcid, includeGlobal: false);
            v.Psc.FlushPcid(v.Pcid);
        }
    }

    /// <summary>
    /// INVLPG drops the va's entries in the current PCID and its global entries, and every paging-structure
    /// cache entry of the current PCID; <c>flush</c> 0 acts like a CR3 reload of the current PCID; <c>flush</c> 1
    /// drops everything.
    /// </summary>
    public static void Invalidate(GuestMachine m, in Invalidation inv)
    {
        var v = m.Vcpus[inv.Vcpu];
        switch (inv.Kind)
        {
            case InvalidationKind.Page:
                v.Tlb.InvalidatePage(inv.Va, v.Pcid);
                v.Psc.FlushPcid(v.Pcid);
                break;
            case InvalidationKind.NonGlobal:
                v.Tlb.Flush(m.Config.Pcid ? v.Pcid : null, includeGlobal: false);
                v.Psc.FlushPcid(v.Pcid);
                break;
            default:
                v.Tlb.Flush(null, includeGlobal: true);
                v.Psc.FlushAll();
                break;
        }
    }
}
