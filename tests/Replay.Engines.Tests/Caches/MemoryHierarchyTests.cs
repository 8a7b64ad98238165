using Replay.Engines.Caches;
using Replay.Engines.Guest;
using Replay.Engines.Native;
using Replay.Engines.Tests.Engines;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Caches;

public sealed class MemoryHierarchyTests
{
    // A tiny hierarchy so sets fill by hand: L1 1 KiB 2-way = 16 lines in 8 sets, L2 2 KiB 2-way = 16 sets,
    // L3 4 KiB 4-way = 16 sets. Lines are 64 bytes: line n of a set s is address ((n × sets) + s) × 64.
    private static readonly CacheGeometry Tiny = new() { L1d = new(1, 2), L2 = new(2, 2), L3 = new(4, 4) };

    private static ulong L1Line(int n, int set = 0) => (ulong)((n * 8) + set) * 64;

    [Fact]
    public void A_first_touch_comes_from_memory_and_the_next_from_L1()
    {
        var h = new MemoryHierarchy(Tiny, 1);
        Assert.Equal(ServedBy.Memory, h.Data(0, 0x1000));
        Assert.Equal(ServedBy.L1, h.Data(0, 0x1000));
        Assert.Equal(ServedBy.L1, h.Data(0, 0x1038)); // the same 64-byte line
        Assert.Equal(ServedBy.Memory, h.Data(0, 0x1040)); // the next line
    }

    [Fact]
    public void A_line_evicted_from_L1_by_its_set_is_found_in_L2_and_LRU_keeps_the_recent_one()
    {
        var h = new MemoryHierarchy(Tiny, 1);
        // Lines 0, 1, 2 of L1 set 0: a 2-way set holds two, so line 2 evicts line 0 (least recently used).
        // In the 16-set L2 they land in sets 0, 8 and 0 again (2 ways), so all three stay in L2.
        h.Data(0, L1Line(0));
        h.Data(0, L1Line(1));
        h.Data(0, L1Line(0)); // line 0 is now the more recent: line 1 becomes L1's victim
        h.Data(0, L1Line(2));
        Assert.Equal(ServedBy.L1, h.Data(0, L1Line(0)));
        Assert.Equal(ServedBy.L2, h.Data(0, L1Line(1)));
    }

    [Fact]
    public void L1_and_L2_are_per_vcpu_and_the_last_level_is_shared()
    {
        var h = new MemoryHierarchy(Tiny, 2);
        Assert.Equal(ServedBy.Memory, h.Data(0, 0x2000));
        Assert.Equal(ServedBy.L3, h.Data(1, 0x2000)); // vCPU 1 finds vCPU 0's line in the shared L3
        Assert.Equal(ServedBy.L1, h.Data(1, 0x2000));
    }

    [Fact]
    public void An_instruction_fetch_skips_the_L1_data_cache()
    {
        var h = new MemoryHierarchy(Tiny, 1);
        Assert.Equal(ServedBy.Memory, h.Instruction(0, 0x3000));
        Assert.Equal(ServedBy.L2, h.Instruction(0, 0x3000));
        Assert.Equal(ServedBy.L2, h.Data(0, 0x3000)); // not in L1: fetches never filled it
        Assert.Equal(ServedBy.L1, h.Data(0, 0x3000));
    }

    [Fact]
    public void Without_an_L3_a_line_missing_from_L2_comes_from_memory()
    {
        var h = new MemoryHierarchy(new CacheGeometry { L1d = new(1, 2), L2 = new(2, 2) }, 1);
        Assert.Equal(ServedBy.Memory, h.Data(0, 0x4000));
        Assert.Equal(ServedBy.L1, h.Data(0, 0x4000));
    }

    [Fact]
    public void A_cache_whose_ways_do_not_divide_its_lines_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => new MemoryHierarchy(new CacheGeometry { L1d = new(1, 3) }, 1));
    }

    /// <summary>
    /// Native, no paging-structure caches, 4-level tables at frames 0x10 (root), 0x11, 0x12, 0x13 (the PT); data
    /// frames 0x100 and 0x101 mapped at va 0 and 0x1000 (PTE indexes 0 and 1: one PT line).
    /// 1. read va 0: TLB miss, 4 references, all four lines cold: 4 from memory; the data line comes in too.
    /// 2. CR3 reload (the TLB is flushed), read va 0x1000: 4 references; the PML4, PDPT and PD entries are the same
    ///    entries as before (L1 hits), and PTE 1 shares PTE 0's line: 4 L1 hits.
    /// Totals: 8 references = 4 L1 + 4 memory; data lines add no walk references.
    /// </summary>
    [Fact]
    public void Native_walk_references_are_counted_by_the_level_that_served_each_entry()
    {
        var t = new TestTrace();
        ulong root = t.NewRoot();
        t.Map(root, 0x0, 0x100);
        t.Map(root, 0x1000, 0x101);
        t.Cr3(root);
        t.Read(0x0);
        t.Cr3(root);
        t.Read(0x1000);
        var config = MachineConfig.Default() with { Tlb = TlbGeometry.Default with { PscPml4 = 0, PscPdpt = 0, PscPd = 0 } };
        var e = t.Run(new NativeEngine(config));
        Assert.Equal((8L, 4L, 0L, 0L, 4L), (e.Stats.WalkRefs, e.Stats.WalkL1, e.Stats.WalkL2, e.Stats.WalkL3, e.Stats.WalkMem));
    }
}
