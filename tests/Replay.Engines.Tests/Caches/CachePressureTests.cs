using Replay.Engines.Caches;
using Replay.Engines.Guest;
using Replay.Engines.Native;
using Replay.Engines.Tests.Engines;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Caches;

/// <summary>
/// <see cref="PressureSource"/>: the L1D misses of the work a trace carries in <c>insns</c> are dead lines in the L1D
/// (the share LLC/L1D misses in every level), served otherwise from a 128 KiB region L2 keeps, and evict page-table
/// lines as a real workload's data does.
/// </summary>
public sealed class CachePressureTests
{
    /// <summary>
    /// Fully associative levels (one set each, so eviction is plain LRU over distinct lines) and no L3: a 1 KiB L1D of
    /// 16 lines and a 256 KiB L2 of 4,096 lines, which holds the 2,048 lines of the 128 KiB near region.
    /// </summary>
    private static readonly CacheGeometry Small = new() { L1d = new(1, 16), L2 = new(256, 4096) };

    /// <summary>One L1D miss per instruction, every one of them also a last-level miss (far share 1), over 1 GiB.</summary>
    private static readonly CachePressure Far = new(L1dMissesPerKiloInsn: 1000, LlcMissesPerKiloInsn: 1000, FootprintBytes: 1UL << 30);

    /// <summary>One L1D miss per instruction, none of them a last-level miss (far share 0): every line from the near region.</summary>
    private static readonly CachePressure Near = new(L1dMissesPerKiloInsn: 1000, LlcMissesPerKiloInsn: 0, FootprintBytes: 1UL << 30);

    private static MachineConfig Config(CacheGeometry caches, CachePressure pressure) => MachineConfig.Default() with
    {
        Tlb = TlbGeometry.Default with { PscPml4 = 0, PscPdpt = 0, PscPd = 0, Caches = caches },
        Pressure = pressure,
    };

    /// <summary>
    /// Tables at frames 0x10 (root), 0x11, 0x12, 0x13 (the PT); va 0 → frame 0x100, va 0x1000 → 0x101 (PTE 0 and 1:
    /// one PT line). cr3; read 0; cr3 (the TLB is flushed); read 0x1000 carrying 5,000 instructions of unlisted work.
    /// </summary>
    private static TestTrace TwoWalks()
    {
        var t = new TestTrace();
        ulong root = t.NewRoot();
        t.Map(root, 0x0, 0x100);
        t.Map(root, 0x1000, 0x101);
        t.Cr3(root);
        t.Read(0x0);
        t.Cr3(root);
        t.Read(0x1000, insns: 5000);
        return t;
    }

    private static (long Refs, long L1, long L2, long L3, long Mem) Served(NativeEngine e) =>
        (e.Stats.WalkRefs, e.Stats.WalkL1, e.Stats.WalkL2, e.Stats.WalkL3, e.Stats.WalkMem);

    [Fact]
    public void Without_pressure_the_second_walk_is_served_by_L1()
    {
        // Walk 1: four cold lines from memory; with the data line that is 5 lines, well inside L1's 16. Walk 2: PML4E,
        // PDPTE and PDE are the same entries, PTE 1 shares PTE 0's line: 4 L1 hits. The 5,000 instructions cost nothing.
        var e = TwoWalks().Run(new NativeEngine(Config(Small, CachePressure.None)));
        Assert.Equal((8L, 4L, 0L, 0L, 4L), Served(e));
    }

    [Fact]
    public void Far_misses_of_the_unlisted_work_evict_the_page_table_lines_so_the_next_walk_comes_from_memory()
    {
        // Before walk 2, its event's 5,000 instructions owe 5,000 × 1000/1000 = 5,000 L1D misses, all far: 5,000 dead
        // lines in both levels. L2 (one set of 4,096 ways) keeps 2,048 of them for the resident 128 KiB region, so its
        // 2,048 usable ways, like L1's 16, are all taken by dead lines: walk 2 reads all four entries from memory.
        // Totals: 8 references, 8 from memory.
        var e = TwoWalks().Run(new NativeEngine(Config(Small, Far)));
        Assert.Equal((8L, 0L, 0L, 0L, 8L), Served(e));
    }

    [Fact]
    public void Near_misses_evict_the_page_table_lines_from_L1_only_so_the_next_walk_comes_from_L2()
    {
        // The same 5,000 misses, now all near: dead lines in L1 only (16 of them empty it), served from the resident
        // region L2 keeps in 2,048 of its ways. The other 2,048 hold the 5 earlier lines: walk 2 reads its four entries
        // from L2. Totals: 4 from memory, 4 from L2.
        var e = TwoWalks().Run(new NativeEngine(Config(Small, Near)));
        Assert.Equal((8L, 0L, 4L, 0L, 4L), Served(e));
    }

    [Fact]
    public void The_same_pressure_brings_the_same_lines_into_every_engines_caches()
    {
        // 64 pages in 8 page tables, each read after a CR3 reload with 2,000 instructions of work: at kernel-build's
        // measured pressure (9.24 L1D and 0.59 LL misses per kilo-instruction) that is about 18 dead lines per walk,
        // one in 16 of them in every level, which push some page-table lines out and not others, so where each
        // reference is served depends on which sets were drawn. A fixed-seed generator draws the same for every engine.
        var pressure = new CachePressure(9.24, 0.59, 112UL << 20);
        var t = new TestTrace();
        ulong root = t.NewRoot();
        for (ulong i = 0; i < 64; i++)
        {
            t.Map(root, ((i % 8) << 21) | ((i / 8) << 12), 0x400 + i);
        }

        for (ulong round = 0; round < 4; round++)
        {
            for (ulong i = 0; i < 64; i++)
            {
                t.Cr3(root);
                t.Read(((i % 8) << 21) | ((i / 8) << 12), insns: 2000);
            }
        }

        var first = t.Run(new NativeEngine(Config(CacheGeometry.Default, pressure)));
        var second = t.Run(new NativeEngine(Config(CacheGeometry.Default, pressure)));
        var quiet = t.Run(new NativeEngine(Config(CacheGeometry.Default, CachePressure.None)));

        Assert.Equal(Served(first), Served(second));
        Assert.Equal(4 * 64 * 4, first.Stats.WalkRefs);
        Assert.True(first.Stats.WalkL3 + first.Stats.WalkMem > quiet.Stats.WalkL3 + quiet.Stats.WalkMem,
            $"pressure should push some page-table lines out of L2: {Served(first)} vs {Served(quiet)}");
        Assert.True(first.Stats.WalkL1 > 0);
    }

    [Theory]
    [InlineData(0, 0, 1UL << 20, false)]  // no misses
    [InlineData(5, 1, 32, false)]         // a footprint smaller than one line
    [InlineData(5, 1, 64, true)]
    public void Pressure_applies_only_with_misses_over_at_least_one_line(double l1d, double llc, ulong footprint, bool any)
    {
        Assert.Equal(any, new CachePressure(l1d, llc, footprint).Any);
        Assert.Equal(any, new GuestMachine(Config(Small, new CachePressure(l1d, llc, footprint))).Pressure is not null);
    }
}
