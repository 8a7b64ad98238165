using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Guest;

/// <summary>
/// The walk's table hook is told the level of the table it reads: the root's level first, one less per table, and on a
/// walk that starts from a paging-structure-cache entry, the level below the cached one.
/// </summary>
public sealed class WalkHookLevelTests
{
    private struct LevelLog : IGuestTableAccess
    {
        public List<(ulong Table, ulong Entry, int Level)> Reads;

        public bool BeforeRead(ulong tableGpa, ulong entryGpa, int level)
        {
            Reads.Add((tableGpa, entryGpa, level));
            return true;
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void A_walk_from_the_root_tells_each_table_its_level(int levels)
    {
        var pt = new GuestPageTables(levels);
        ulong va = GuestPageTables.Va(1, 2, 3, 4);
        pt.Map(va, 0x80_0000);
        var log = new LevelLog { Reads = [] };
        PageWalker.Walk(pt.Memory, pt.Root, va, AccessKind.Read, true, levels, false, null, 0, ref log);

        Assert.Equal(Enumerable.Range(1, levels).Reverse(), log.Reads.Select(r => r.Level));
        Assert.All(log.Reads, r => Assert.Equal(pt.EntryAddr(va, r.Level), r.Entry));
    }

    [Fact]
    public void A_2_MiB_leaf_stops_the_levels_at_2_and_a_cached_walk_starts_below_the_cached_entry()
    {
        var pt = new GuestPageTables(4);
        ulong va = GuestPageTables.Va(1, 2, 3, 0);
        pt.Map(va, 0x4000_0000, leafLevel: 2);
        var psc = new PagingStructureCache(TlbGeometry.Default);
        var first = new LevelLog { Reads = [] };
        PageWalker.Walk(pt.Memory, pt.Root, va, AccessKind.Read, true, 4, false, psc, 0, ref first);
        Assert.Equal([4, 3, 2], first.Reads.Select(r => r.Level));

        // The PDPTE is cached now: the next walk reads only the PDE, at level 2.
        var second = new LevelLog { Reads = [] };
        var w = PageWalker.Walk(pt.Memory, pt.Root, va, AccessKind.Read, true, 4, false, psc, 0, ref second);
        Assert.True(w.PscHit);
        Assert.Equal([2], second.Reads.Select(r => r.Level));
        Assert.Equal(pt.EntryAddr(va, 2), second.Reads[0].Entry);
    }
}
