using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Tests.Guest;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Tlb;

/// <summary>
/// Paging-structure caches (SDM Vol. 3 §4.10.3): a PDE-cache hit leaves only the PTE to read, a PDPTE-cache hit
/// the PDE and PTE, a PML4E-cache hit three entries; entries are PCID-tagged and LRU-replaced.
/// </summary>
public sealed class PagingStructureCacheTests
{
    private static readonly TlbGeometry AllCaches = new() { PscPml4 = 2, PscPdpt = 4, PscPd = 32 };

    // Same PML4E/PDPTE/PDE: va1 and va2 share a 2 MiB region.
    private static readonly ulong Va1 = GuestPageTables.Va(1, 2, 3, 4);
    private static readonly ulong Va2 = GuestPageTables.Va(1, 2, 3, 9);

    // Same 1 GiB region as va1 (PDPTE), another 2 MiB region (PD index 7).
    private static readonly ulong Va3 = GuestPageTables.Va(1, 2, 7, 4);

    // Same 512 GiB region (PML4E), another 1 GiB region (PDPT index 5).
    private static readonly ulong Va4 = GuestPageTables.Va(1, 5, 0, 0);

    private static GuestPageTables Tables()
    {
        var pt = new GuestPageTables();
        pt.Map(Va1, 0x80_0000);
        pt.Map(Va2, 0x80_5000);
        pt.Map(Va3, 0x81_0000);
        pt.Map(Va4, 0x82_0000);
        return pt;
    }

    private static WalkResult Walk(GuestPageTables pt, PagingStructureCache psc, ulong va, ushort pcid = 0,
        AccessKind kind = AccessKind.Read, bool user = true) =>
        PageWalker.Walk(pt.Memory, pt.Root, va, kind, user, pt.Levels, setAccessedDirty: true, psc, pcid);

    [Fact]
    public void A_second_walk_in_the_same_2MiB_region_hits_the_PDE_cache_and_reads_only_the_PTE()
    {
        var pt = Tables();
        var psc = new PagingStructureCache(AllCaches);

        var first = Walk(pt, psc, Va1);
        var second = Walk(pt, psc, Va2);

        Assert.Equal(4, first.Refs);
        Assert.False(first.PscHit);
        Assert.Equal(1, second.Refs);
        Assert.True(second.PscHit);
        Assert.Equal(0x80_5000UL, second.FrameOf(Va2));
        Assert.Equal(Perms.Write | Perms.User | Perms.Exec, second.Perms);
    }

    [Fact]
    public void Another_2MiB_region_of_the_same_1GiB_region_hits_the_PDPTE_cache_and_reads_PDE_and_PTE()
    {
        var pt = Tables();
        var psc = new PagingStructureCache(AllCaches);
        Walk(pt, psc, Va1);

        var w = Walk(pt, psc, Va3);

        // The PDE cache has no entry for PD index 7; the PDPTE cache gives the page directory.
        Assert.Equal(2, w.Refs);
        Assert.True(w.PscHit);
        Assert.Equal(0x81_0000UL, w.FrameOf(Va3));
    }

    [Fact]
    public void Another_1GiB_region_of_the_same_512GiB_region_hits_the_PML4E_cache_and_reads_three_entries()
    {
        var pt = Tables();
        var psc = new PagingStructureCache(AllCaches);
        Walk(pt, psc, Va1);

        var w = Walk(pt, psc, Va4);

        Assert.Equal(3, w.Refs);
        Assert.True(w.PscHit);
    }

    [Fact]
    public void Without_a_PDE_cache_the_same_2MiB_region_hits_the_PDPTE_cache()
    {
        var pt = Tables();
        var psc = new PagingStructureCache(new TlbGeometry { PscPml4 = 2, PscPdpt = 4 });
        Walk(pt, psc, Va1);

        Assert.Equal(2, Walk(pt, psc, Va2).Refs);
    }

    [Fact]
    public void With_no_caches_every_walk_reads_every_level()
    {
        var pt = Tables();
        var psc = new PagingStructureCache(new TlbGeometry());
        Walk(pt, psc, Va1);

        var w = Walk(pt, psc, Va2);

        Assert.False(psc.Any);
        Assert.Equal(4, w.Refs);
        Assert.False(w.PscHit);
    }

    [Fact]
    public void Entries_are_tagged_by_PCID_so_another_PCID_misses()
    {
        var pt = Tables();
        var psc = new PagingStructureCache(AllCaches);
        Walk(pt, psc, Va1, pcid: 1);

        Assert.Equal(4, Walk(pt, psc, Va2, pcid: 2).Refs);
        Assert.Equal(1, Walk(pt, psc, Va2, pcid: 1).Refs);
    }

    [Fact]
    public void FlushPcid_drops_one_PCIDs_entries_and_FlushAll_drops_every_PCIDs()
    {
        var pt = Tables();
        var psc = new PagingStructureCache(AllCaches);
        Walk(pt, psc, Va1, pcid: 1);
        Walk(pt, psc, Va1, pcid: 2);

        psc.FlushPcid(1);

        Assert.Equal(0, psc.Lookup(Va2, 1, 4, out _, out _));
        Assert.Equal(1, Walk(pt, psc, Va2, pcid: 2).Refs);
        Assert.Equal(4, Walk(pt, psc, Va2, pcid: 1).Refs); // refills PCID 1

        psc.FlushAll();

        Assert.Equal(4, Walk(pt, psc, Va2, pcid: 1).Refs);
        Assert.Equal(4, Walk(pt, psc, Va2, pcid: 2).Refs);
    }

    [Fact]
    public void Levels_a_flush_emptied_miss_then_fill_again_after_repeated_flushes()
    {
        var pt = Tables();
        var psc = new PagingStructureCache(AllCaches);

        // Never filled, then flushed twice: lookups, invalidations and flushes of the empty levels change nothing.
        psc.FlushAll();
        psc.FlushAll();
        psc.InvalidateVa(Va1, 0);
        psc.FlushPcid(0);
        Assert.Equal(0, psc.Lookup(Va1, 0, 4, out _, out _));

        for (int round = 0; round < 3; round++)
        {
            Assert.Equal(4, Walk(pt, psc, Va1).Refs); // filled from the root
            Assert.Equal(1, Walk(pt, psc, Va2).Refs); // PDE-cache hit
            Assert.Equal(2, Walk(pt, psc, Va3).Refs); // PDPTE-cache hit
            psc.FlushAll();
            Assert.Equal(0, psc.Lookup(Va2, 0, 4, out _, out _));
        }
    }

    [Fact]
    public void Lookup_returns_the_deepest_cached_level_with_its_table_and_accumulated_permissions()
    {
        var psc = new PagingStructureCache(AllCaches);
        psc.Insert(Va1, 3, 0, table: 0x30_0000, accumulatedPte: Pte.Rw);
        psc.Insert(Va1, 2, 0, table: 0x20_0000, accumulatedPte: Pte.Us | Pte.Nx);

        int level = psc.Lookup(Va2, 0, 4, out ulong table, out ulong acc);

        Assert.Equal(2, level);
        Assert.Equal(0x20_0000UL, table);
        Assert.Equal(Pte.Us | Pte.Nx, acc);
        Assert.Equal(3, psc.Lookup(Va3, 0, 4, out table, out _));
        Assert.Equal(0x30_0000UL, table);
    }

    [Fact]
    public void A_cached_entry_carries_the_permissions_of_the_levels_above_it()
    {
        var pt = Tables();
        pt.Clear(Va1, 3, Pte.Us); // the PDPTE is supervisor-only
        var psc = new PagingStructureCache(AllCaches);
        Walk(pt, psc, Va1, user: false);

        // The walk of va2 starts at the PT, yet still knows the PDPTE forbade user access.
        var user = Walk(pt, psc, Va2, user: true);
        var supervisor = Walk(pt, psc, Va2, kind: AccessKind.Write, user: false);

        Assert.True(user.Fault);
        Assert.Equal(1, user.Refs);
        Assert.False(supervisor.Fault);
        Assert.Equal(Perms.Write | Perms.Exec, supervisor.Perms);
    }

    [Fact]
    public void A_2_entry_PDE_cache_evicts_the_least_recently_used_region()
    {
        var pt = new GuestPageTables();
        ulong r0 = GuestPageTables.Va(1, 2, 0, 0), r1 = GuestPageTables.Va(1, 2, 1, 0), r2 = GuestPageTables.Va(1, 2, 2, 0);
        pt.Map(r0, 0x80_0000);
        pt.Map(r1, 0x80_1000);
        pt.Map(r2, 0x80_2000);
        var psc = new PagingStructureCache(new TlbGeometry { PscPd = 2 });

        // Only a PDE cache: every miss reads four entries; a hit reads one.
        Assert.Equal(4, Walk(pt, psc, r0).Refs);
        Assert.Equal(4, Walk(pt, psc, r1).Refs);
        Assert.Equal(1, Walk(pt, psc, r0).Refs); // touch r0: r1 is now least recently used
        Assert.Equal(4, Walk(pt, psc, r2).Refs); // evicts r1

        Assert.Equal(1, Walk(pt, psc, r0).Refs);
        Assert.Equal(1, Walk(pt, psc, r2).Refs);
        Assert.Equal(4, Walk(pt, psc, r1).Refs); // evicts r0 (r0 used before r2)
        Assert.Equal(4, Walk(pt, psc, r0).Refs);
    }

    [Fact]
    public void Under_5_level_paging_a_PML5E_cache_hit_leaves_four_entries_to_read()
    {
        var pt = new GuestPageTables(levels: 5);
        ulong a = GuestPageTables.Va5(1, 1, 0, 0, 0), b = GuestPageTables.Va5(1, 2, 0, 0, 0);
        pt.Map(a, 0x80_0000);
        pt.Map(b, 0x80_1000);
        var psc = new PagingStructureCache(new TlbGeometry { PscPml5 = 1 });

        Assert.Equal(5, Walk(pt, psc, a).Refs);
        var w = Walk(pt, psc, b);

        Assert.Equal(4, w.Refs);
        Assert.True(w.PscHit);
        Assert.Equal(0x80_1000UL, w.FrameOf(b));
    }
}
