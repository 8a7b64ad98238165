using Replay.Engines.Agile;
using Replay.Engines.Contract;
using Replay.Engines.Registry;
using Replay.Engines.Guest;
using Replay.Engines.Native;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// agile against SPEC §3 and REFERENCES §6.1, each expectation derived from the rules. With no caches in either
/// dimension a walk that switches at level L of an n-level guest over a 4-level EPT reads n − L shadow entries, the
/// guest entry at L (its table reached by the host address the switching shadow entry holds), then for each lower
/// level a 4-reference nested walk of the table's gpa plus the guest entry, and a 4-reference nested walk of the data
/// gpa: 4 all shadow, 8 at L1, 12 at L2, 16 at L3, and from the root (gCR3 a gpa too) (4+1)(4+1) − 1 = 24.
/// TestTrace puts the root at frame 0x10 and A's tables at 0x11 (L3), 0x12 (L2), 0x13 (L1).
/// Each walk is measured after a warm-up (hidden faults and EPT violations filled) and an INVLPG.
/// </summary>
public sealed class AgileEngineTests
{
    private const ulong A = 0x40_0000;     // PML4 0, PDPT 0, PD 2, PT 0
    private const ulong B = 0x40_1000;     // same page table as A
    private const ulong C = 0x40_2000;     // same page table as A
    private const ulong Unmapped = 0x40_3000;

    private static readonly TlbGeometry NoCaches = TlbGeometry.Default with
    {
        PscPml5 = 0, PscPml4 = 0, PscPdpt = 0, PscPd = 0,
        NestedTlb = null, EptPscPml4 = 0, EptPscPdpt = 0, EptPscPd = 0,
    };

    private static AgileEngine Agile(string options = "", int levels = 4, int vcpus = 1, TlbGeometry? g = null) =>
        (AgileEngine)EngineRegistry.Parse("agile" + (options.Length > 0 ? ":" + options : ""))
            .Create(new MachineConfig(vcpus, 4UL << 30, levels, false, g ?? NoCaches));

    /// <summary>Replays the trace, then an INVLPG of <paramref name="va"/> and one read of it; returns that read's walk references.</summary>
    private static (AgileEngine Engine, long Refs, long Shadow, long Guest, long Ept) Measure(TestTrace t, AgileEngine e, ulong va = A)
    {
        t.Read(va);
        t.Invlpg(va);
        int before = t.Batch.Count;
        t.Read(va);
        e.Run(t.Batch, 0, before, verify: true);
        long refs = e.Stats.WalkRefs, s = e.Counter("shadow_walk_refs"), g = e.Counter("guest_walk_refs"), x = e.Counter("ept_walk_refs");
        e.Run(t.Batch, before, t.Batch.Count, verify: true);
        return (e, e.Stats.WalkRefs - refs, e.Counter("shadow_walk_refs") - s, e.Counter("guest_walk_refs") - g, e.Counter("ept_walk_refs") - x);
    }

    private static (TestTrace T, ulong Root) Shadowed(int levels = 4, int leafLevel = 1, ulong frame = 0x100)
    {
        var t = new TestTrace { Levels = levels };
        ulong r = t.NewRoot();
        t.Map(r, A, frame, leafLevel: leafLevel);
        t.Cr3(r);
        return (t, r);
    }

    [Fact]
    public void An_all_shadow_walk_reads_one_shadow_entry_per_level()
    {
        var (t, _) = Shadowed();
        var m = Measure(t, Agile());

        // The first read: the root's shadow exists (built at the CR3 load) with no entries: one shadow reference, a
        // hidden fault that builds L3, L2, L1 shadows (3 pages) and the leaf, then the 4-reference walk.
        Assert.Equal((4, 4, 0, 0), (m.Refs, m.Shadow, m.Guest, m.Ept));
        Assert.Equal(1, m.Engine.Count("shadow_fill"));
        Assert.Equal(3 + 3, m.Engine.Units("shadow_fill")); // 3 shadow pages + the EPT L3, L2 and L1 tables that back frame 0x100
        Assert.Equal(3, m.Engine.Counter("agile_walks_shadow")); // faulting walk, walk after the fill, measured walk
        Assert.Equal(1 + 4 + 4, m.Engine.Stats.WalkRefs);
    }

    [Fact]
    public void A_2_MiB_guest_page_is_splintered_so_the_all_shadow_walk_still_reads_four_entries()
    {
        var (t, _) = Shadowed(leafLevel: 2, frame: 0x200);
        var m = Measure(t, Agile());

        // L4, L3, L2 (linking an fl1 splinter page) and the splinter's 4 KiB entry.
        Assert.Equal((4, 4, 0, 0), (m.Refs, m.Shadow, m.Guest, m.Ept));
    }

    [Fact]
    public void A_page_table_written_twice_in_an_interval_goes_nested_and_the_walk_switches_above_the_leaf()
    {
        var (t, r) = Shadowed();
        t.Read(A);
        t.Map(r, B, 0x101, init: false); // a trapped write to the L1 page: emulated
        t.Map(r, C, 0x102, init: false); // the second: the L1 page goes nested
        t.Map(r, Unmapped + 0x1000, 0x103, init: false); // nested: runs natively, no exit
        var m = Measure(t, Agile());

        // 3 shadow entries (L4, L3, and L2 with the switch bit), the guest L1 entry at its host address, the data gpa's
        // 4-reference nested walk: 8.
        Assert.Equal((8, 3, 1, 4), (m.Refs, m.Shadow, m.Guest, m.Ept));
        Assert.Equal(2, m.Engine.Count("pt_emulate"));
        Assert.Equal(1, m.Engine.Counter("agile_to_nested"));
        Assert.Equal(1, m.Engine.WithinCount("agile_to_nested"));
        Assert.Equal(2, m.Engine.WithinUnits("agile_to_nested")); // 1 switch entry made + the L1 shadow page freed
        Assert.Equal(2, m.Engine.Counter("agile_walks_l1"));
    }

    [Fact]
    public void Switching_at_L2_costs_12_references_and_at_L3_16()
    {
        var (t2, r2) = Shadowed();
        t2.Read(A);
        t2.Map(r2, 0x80_0000, 0x104, init: false); // writes L2 entry 4 (a new page table)
        t2.Map(r2, 0xC0_0000, 0x105, init: false); // writes L2 entry 6: the L2 page goes nested
        var l2 = Measure(t2, Agile());
        Assert.Equal((12, 2, 2, 8), (l2.Refs, l2.Shadow, l2.Guest, l2.Ept)); // 2 + 1 + (4 + 1) + 4
        Assert.Equal(3, l2.Engine.Counter("agile_walks_l2")); // the warm-up walk stopped by the EPT violation, its restart, the measured one

        var (t3, r3) = Shadowed();
        t3.Read(A);
        t3.Map(r3, 0x4000_0000, 0x106, init: false); // writes L3 entry 1
        t3.Map(r3, 0x8000_0000, 0x107, init: false); // writes L3 entry 2: the L3 page goes nested
        var l3 = Measure(t3, Agile());
        Assert.Equal((16, 1, 3, 12), (l3.Refs, l3.Shadow, l3.Guest, l3.Ept)); // 1 + 1 + 2 × (4 + 1) + 4
    }

    [Fact]
    public void A_process_created_during_the_trace_starts_nested_and_walks_the_full_2D_walk()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100, init: false); // the new process's tables, built by ptwrites before its first CR3 load
        t.Cr3(r);
        t.Map(t.NewRoot() - 1, B, 0x101, init: false);
        var m = Measure(t, Agile());

        Assert.Equal((24, 0, 4, 20), (m.Refs, m.Shadow, m.Guest, m.Ept)); // (4 + 1)(4 + 1) − 1
        Assert.Equal(1, m.Engine.Counter("agile_start_nested"));
        Assert.Equal(0, m.Engine.Count("pt_emulate"));
        Assert.Equal(0, m.Engine.Count("shadow_fill"));
        Assert.Equal(0, m.Engine.Units("cr3_switch")); // no shadow root is built for a nested root
    }

    [Fact]
    public void Without_the_new_process_rule_the_same_process_starts_in_shadow_mode()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100, init: false);
        t.Cr3(r);
        var m = Measure(t, Agile("new_nested=false"));
        Assert.Equal((4, 4, 0, 0), (m.Refs, m.Shadow, m.Guest, m.Ept));
        Assert.Equal(0, m.Engine.Counter("agile_start_nested"));
    }

    [Fact]
    public void A_5_level_guest_walks_5_references_all_shadow_and_29_fully_nested()
    {
        var (t, _) = Shadowed(levels: 5);
        Assert.Equal(5, Measure(t, Agile(levels: 5)).Refs);

        var n = new TestTrace { Levels = 5 };
        ulong r = n.NewRoot();
        n.Map(r, A, 0x100, init: false);
        n.Cr3(r);
        Assert.Equal((5 + 1) * (4 + 1) - 1, Measure(n, Agile(levels: 5)).Refs);
    }

    [Fact]
    public void A_nested_page_clean_for_a_whole_interval_returns_to_shadow_mode_and_a_written_one_stays()
    {
        // Events: 4 ptinit (0-3), cr3 (4), read (5), two trapped writes to the L1 page (6, 7: nested, dirty marked so it
        // survives the boundary it is in), reads up to event 24. interval=10: the scan at 10 clears the dirty bit, the
        // scan at 20 finds it clean: back to shadow, the L1 shadow rebuilt from its one accessed entry (A).
        var (t, r) = Shadowed();
        t.Read(A);
        t.Map(r, B, 0x101, init: false);
        t.Map(r, C, 0x102, init: false);
        while (t.Batch.Count < 25)
        {
            t.Read(A);
        }

        var m = Measure(t, Agile("interval=10"));
        Assert.Equal(1, m.Engine.Counter("agile_to_nested"));
        Assert.Equal(1, m.Engine.Counter("agile_to_shadow"));
        Assert.Equal(1, m.Engine.WithinUnits("agile_to_shadow"));
        Assert.Equal(2, m.Engine.WithinCount("agile_dirty_scan"));
        Assert.Equal((4, 4, 0, 0), (m.Refs, m.Shadow, m.Guest, m.Ept));

        // The same, with a native write to the nested page at event 15: the scan at 20 sees it dirty, the one at 30 clean.
        var (w, wr) = Shadowed();
        w.Read(A);
        w.Map(wr, B, 0x101, init: false);
        w.Map(wr, C, 0x102, init: false);
        while (w.Batch.Count < 15)
        {
            w.Read(A);
        }

        w.Map(wr, Unmapped + 0x1000, 0x103, init: false);
        while (w.Batch.Count < 25)
        {
            w.Read(A);
        }

        var e = Agile("interval=10");
        e.Run(w.Batch, 0, w.Batch.Count, verify: true);
        Assert.Equal(0, e.Counter("agile_to_shadow"));
        Assert.Equal(2, e.Count("pt_emulate")); // the write at 15 did not exit
        while (w.Batch.Count < 31)
        {
            w.Read(A);
        }

        e.Run(w.Batch, 25, w.Batch.Count, verify: true);
        Assert.Equal(1, e.Counter("agile_to_shadow"));
    }

    [Fact]
    public void A_nested_root_clean_for_an_interval_returns_to_shadow_mode_with_its_clean_subtree_rebuilt_whole()
    {
        // A new process (events 0-3 build its tables, 4 loads it: nested from the root), reads to event 24. interval=10:
        // the scan at 10 clears the root's dirty bit, the one at 20 finds it clean. The tables below it were nested
        // too (walked 2-D, written freely); none was written in the interval just ended, so all return with the root,
        // each rebuilt from its accessed entries: root, L3, L2, L1 one entry each, and A's next walk is 1-D with no
        // hidden fault.
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100, init: false);
        t.Cr3(r);
        while (t.Batch.Count < 25)
        {
            t.Read(A);
        }

        var m = Measure(t, Agile("interval=10"));
        Assert.Equal(1, m.Engine.Counter("agile_start_nested"));
        Assert.Equal(1, m.Engine.Counter("agile_to_shadow"));
        Assert.Equal(4, m.Engine.WithinUnits("agile_to_shadow"));
        Assert.Equal(0, m.Engine.Count("shadow_fill"));
        Assert.Equal((4, 4, 0, 0), (m.Refs, m.Shadow, m.Guest, m.Ept));

        // The same with a native write to the L1 page at event 15 (B's entry): the root, L3 and L2 come back at 20 and
        // the L1 page, written in that interval, stays nested behind a switch entry in the L2 shadow (walks: 3 shadow
        // entries, the guest L1 entry, the data gpa's nested walk: 8); clean through the next interval, it returns at 30.
        var w = new TestTrace();
        ulong wr = w.NewRoot();
        w.Map(wr, A, 0x100, init: false);
        w.Cr3(wr);
        while (w.Batch.Count < 15)
        {
            w.Read(A);
        }

        w.Map(wr, B, 0x101, init: false);
        while (w.Batch.Count < 25)
        {
            w.Read(A);
        }

        var n = Measure(w, Agile("interval=10"));
        Assert.Equal(3, n.Engine.WithinUnits("agile_to_shadow")); // root, L3 and L2 entries; the L2 one a switch entry
        Assert.Equal((8, 3, 1, 4), (n.Refs, n.Shadow, n.Guest, n.Ept));
        while (w.Batch.Count < 34)
        {
            w.Read(A);
        }

        int before = w.Batch.Count;
        w.Invlpg(A);
        w.Read(A);
        long refs = n.Engine.Stats.WalkRefs;
        n.Engine.Run(w.Batch, 28, before, verify: true);
        Assert.Equal(2, n.Engine.Counter("agile_to_shadow"));
        Assert.Equal(3 + 1, n.Engine.WithinUnits("agile_to_shadow")); // the L1 page rebuilt from A, its one accessed entry
        refs = n.Engine.Stats.WalkRefs;
        n.Engine.Run(w.Batch, before, w.Batch.Count, verify: true);
        Assert.Equal(4, n.Engine.Stats.WalkRefs - refs);
        Assert.Equal(0, n.Engine.Count("shadow_fill"));
    }

    [Fact]
    public void A_guest_fault_in_the_nested_part_goes_to_the_guest_without_an_exit_and_one_on_a_shadow_walk_exits()
    {
        var (t, r) = Shadowed();
        t.Read(A);
        t.Read(Unmapped); // all shadow: hidden fault, the VMM's walk finds the guest's fault, reflected
        t.Map(r, B, 0x101, init: false);
        t.Map(r, C, 0x102, init: false);
        t.Read(Unmapped + 0x1000 * 8); // the L1 page is nested now: the #PF is the guest's own
        var e = t.Run(Agile());
        Assert.Equal(2, e.Stats.GuestFaults);
        Assert.Equal(1, e.Count("guest_pf_reflect"));
        Assert.Equal(1, e.Counter("guest_faults_unexited"));
    }

    [Fact]
    public void Replay_engines_lists_agile_with_its_options_and_paper_defaults()
    {
        var d = EngineRegistry.Find("agile")!;
        Assert.Equal(["nested_writes", "interval", "new_nested", "prefetch", "ept_levels", "cr3_targets", "nested_cr3_loads"], d.Options.Select(o => o.Name));
        Assert.Equal(new AgileOptions(), Agile().Options);
        Assert.Equal("agile:interval=10", EngineRegistry.Parse("agile:interval=10").CanonicalName);
    }

    [Fact]
    public void With_CR3_target_values_a_root_loaded_often_goes_nested_and_its_loads_stop_exiting()
    {
        // Two processes that existed before recording, switched R1, R2, R1, R2, R1, R2 with nested_cr3_loads=2: the
        // second load of each exits, moves the root nested and lists it as a CR3-target value; the later loads do not exit.
        var t = new TestTrace();
        ulong r1 = t.NewRoot();
        t.Map(r1, A, 0x100);
        ulong r2 = t.NewRoot();
        t.Map(r2, A, 0x101);
        for (int i = 0; i < 3; i++)
        {
            t.Cr3(r1);
            t.Read(A);
            t.Cr3(r2);
            t.Read(A);
        }

        var e = t.Run(Agile("cr3_targets=2,nested_cr3_loads=2"));
        Assert.Equal(4, e.Count("cr3_switch"));
        Assert.Equal(2, e.Counter("cr3_target_loads"));
        Assert.Equal(2, e.Counter("agile_to_nested"));
        Assert.Equal(0, t.Run(Agile()).Counter("cr3_target_loads")); // off by default: all 6 loads exit
    }

    [Theory]
    [InlineData("cr3_targets=4,nested_cr3_loads=3,interval=30", 8, 2)]
    [InlineData("", 1, 1)]
    [InlineData("", 7, 3)]
    [InlineData("nested_writes=1", 2, 1)]
    [InlineData("nested_writes=1,interval=40", 3, 2)]
    [InlineData("interval=25,prefetch=1", 4, 3)]
    [InlineData("new_nested=false,interval=100", 5, 2)]
    public void Every_translation_equals_the_reference_walk_on_a_trace_that_remaps_and_tears_down(string options, int seed, int vcpus)
    {
        var t = ShadowCachedPropertyTests.RandomTrace(seed, vcpus, pageTableWrites: true);
        var e = Agile(options, vcpus: vcpus, g: TlbGeometry.Default);
        t.Run(e); // throws VerifyException on the first wrong translation
        var native = t.Run(new NativeEngine(MachineConfig.Default(vcpus: vcpus)));
        Assert.Equal(native.Stats.GuestFaults, e.Stats.GuestFaults);
        long walks = e.Counter("agile_walks_shadow") + Enumerable.Range(1, 4).Sum(l => e.Counter($"agile_walks_l{l}"));
        Assert.True(walks >= e.Stats.TlbMisses);
        Assert.Equal(e.Stats.WalkRefs, e.Counter("shadow_walk_refs") + e.Counter("guest_walk_refs") + e.Counter("ept_walk_refs"));
    }
}
