using Replay.Engines.Contract;
using Replay.Engines.Ept;
using Replay.Engines.Guest;
using Replay.Engines.Hybrid;
using Replay.Engines.Native;
using Replay.Engines.Paging;
using Replay.Engines.Registry;
using Replay.Engines.ShadowCached;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// hybrid against SPEC §3 and Wang et al. (VEE 2011), each expectation derived in a comment. The guest runs on a
/// machine whose data TLB holds one 4 KiB translation and which has no STLB, so reads that alternate between two
/// pages miss the TLB every time and never fault: a TLB-miss-heavy interval. Page-table writes with their INVLPGs
/// make a fault-heavy one. TestTrace puts the root at frame 0x10 and A's PDPT, PD and page table at 0x11–0x13; A and
/// B share that page table and are mapped read-only, so Xen's prefetch may fill B once its guest A bit is set.
/// </summary>
public sealed class HybridEngineTests
{
    private const ulong A = ShadowCachedXenTests.A;
    private const ulong B = ShadowCachedXenTests.B;
    private const ulong ReadOnly = Pte.Present | Pte.Us;

    private static readonly TlbGeometry OneEntryTlb = TlbGeometry.Default with { L1d4K = new(1, 1), Stlb = null };

    private static MachineConfig Config(TlbGeometry? g = null, int vcpus = 1) => new(vcpus, 4UL << 30, 4, false, g ?? OneEntryTlb);

    private static HybridEngine Hybrid(string options, MachineConfig? config = null) =>
        (HybridEngine)EngineRegistry.Parse("hybrid:" + options).Create(config ?? Config());

    private static ulong Ro(ulong frame) => (frame << 12) | ReadOnly;

    [Fact]
    public void A_tlb_miss_heavy_interval_flips_to_shadow_and_a_fault_heavy_one_back_to_nested()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100, ReadOnly); // rows 0–3: PML4, PDPT, PD entries and the leaf
        t.Map(r, B, 0x101, ReadOnly); // row 4
        t.Cr3(r);                     // row 5
        for (int i = 0; i < 7; i++)   // rows 6–19: the first interval ends here
        {
            t.Read(A);
            t.Read(B);
        }

        t.Read(A, insns: 100);        // rows 20–39: the second interval
        t.Read(B);
        for (int i = 0; i < 9; i++)
        {
            t.Read(A);
            t.Read(B);
        }

        for (int i = 0; i < 6; i++)   // rows 40–57: B remapped six times, each write with its INVLPG
        {
            ulong leaf = t.EntryOf(r, B, 1);
            t.PtWrite(leaf, Ro(0x102 + (ulong)i));
            t.Invlpg(B);
            t.Read(B);
        }

        t.Read(A);                    // rows 58–59 end the third interval
        t.Read(B);
        t.Read(A);                    // rows 60–61: a fourth, partial interval
        t.Read(B);
        var e = t.Run(Hybrid("interval=20,hold=1,tlb_threshold=500,fault_threshold=100"));

        // Interval 1 (nested): 14 accesses, all TLB misses (one-entry TLB, A and B alternate), no fault, 1 CR3 load:
        //   1 × 1000 < 100 × 14 on the fault side, 14 × 1000 ≥ 500 × 14 on the TLB side → shadow.
        //   EPT violations, one per frame first touched: tables 0x10–0x13 (the first creates the EPT's PDPT, PD and
        //   PT: units 3), data 0x100 and 0x101: 6.
        // Switch to shadow: one exit (one vCPU), units 1 = the top-level shadow of root 0x10 built.
        // Interval 2 (shadow): read A misses the empty shadow → shadow_fill builds l3, l2, l1 (units 3); Xen's prefetch
        //   fills B's entry (present, read-only, and its A bit was set by the nested walks of interval 1: the two
        //   modes share one guest memory): within-exit prefetch, units 1. Every later read misses the TLB but finds
        //   the shadow entry: no exit. 20 misses in 20 accesses, no fault → shadow again, no switch.
        // Interval 3 (shadow): each new leaf of B is written without its A bit, so each read of B after its INVLPG is
        //   a hidden fault that sets A and fills the entry (6 fills, no new page). 6 page-table writes + 6 INVLPGs
        //   in 8 accesses: 12 × 1000 ≥ 100 × 8 → nested.
        // Switch to nested: one exit, units 4 = the shadow pages torn down (l4, l3, l2, l1).
        // Interval 4 (nested): A's frame and every table are still in the kept EPT; B now maps 0x107, which was only
        //   ever touched under shadow paging: one more EPT violation (no new EPT page). Frames 0x102–0x106 never are.
        Assert.Equal(2, e.Counter("hybrid_switches"));
        Assert.Equal(1, e.Counter("hybrid_to_shadow"));
        Assert.Equal(1, e.Counter("hybrid_to_nested"));
        Assert.Equal(1, e.Count("hybrid_to_shadow"));
        Assert.Equal(1, e.Units("hybrid_to_shadow"));
        Assert.Equal(1, e.Count("hybrid_to_nested"));
        Assert.Equal(4, e.Units("hybrid_to_nested"));
        Assert.Equal(1 + 6, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
        Assert.Equal(1, e.WithinCount("shadow_prefetch"));
        Assert.Equal(1, e.WithinUnits("shadow_prefetch"));
        Assert.Equal(7, e.Count("ept_fill"));
        Assert.Equal(3, e.Units("ept_fill"));
        Assert.Equal(2, e.Counter("hybrid_intervals_nested"));
        Assert.Equal(2, e.Counter("hybrid_intervals_shadow"));
        Assert.Equal(20 + 2, e.Counter("hybrid_events_nested"));
        Assert.Equal(40, e.Counter("hybrid_events_shadow"));
        Assert.Equal(100, e.Counter("hybrid_instructions_shadow"));
        Assert.Equal(0, e.Counter("hybrid_instructions_nested"));
        Assert.Equal(PagingMode.Nested, e.Mode);

        // Pages: the EPT's root + 3, plus 4 shadow pages while shadowed.
        Assert.Equal(8, e.Stats.ShadowPagesCreated);
        Assert.Equal(8, e.Stats.ShadowPagesPeak);
        Assert.Equal(4, e.Stats.ShadowPages);
        Assert.Equal(0, e.Stats.GuestFaults);
    }

    [Fact]
    public void After_a_switch_back_to_shadow_every_fill_exits_again_and_the_shadow_is_rebuilt_from_empty()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100, ReadOnly);
        t.Map(r, B, 0x101, ReadOnly);
        t.Cr3(r);                     // rows 0–5
        t.Read(A);                    // rows 6–7 end the first interval
        t.Read(B);
        for (int i = 0; i < 8; i++)   // rows 8–15: second interval, rows 16–23: third
        {
            t.Read(A);
            t.Read(B);
        }

        var e = t.Run(Hybrid("start=shadow,interval=8,hold=1,tlb_threshold=500,fault_threshold=100"));

        // Interval 1 (shadow from boot, no switch): cr3 builds the root shadow (cr3_switch, units 1); read A fills
        //   l3, l2, l1 (units 3), and B is not prefetched (its guest A bit is still clear); read B fills its entry
        //   (units 0). 1 CR3 load in 2 accesses: 1000 ≥ 100 × 2 → nested; the teardown frees 4 shadow pages.
        // Interval 2 (nested): 8 misses in 8 accesses, nothing on the fault side → shadow; the switch builds the
        //   root again (units 1).
        // Interval 3 (shadow): the shadows below the root are gone: read A exits again and rebuilds l3, l2, l1
        //   (units 3); B is prefetched this time (its A bit is set); the other reads find their entries.
        Assert.Equal(1, e.Count("cr3_switch"));
        Assert.Equal(3, e.Count("shadow_fill"));
        Assert.Equal(6, e.Units("shadow_fill"));
        Assert.Equal(1, e.WithinUnits("shadow_prefetch"));
        Assert.Equal(1, e.Count("hybrid_to_nested"));
        Assert.Equal(4, e.Units("hybrid_to_nested"));
        Assert.Equal(1, e.Count("hybrid_to_shadow"));
        Assert.Equal(1, e.Units("hybrid_to_shadow"));
        Assert.Equal(6, e.Count("ept_fill"));
        Assert.Equal(PagingMode.Shadow, e.Mode);

        // Created: the EPT root + 3 EPT pages, 4 shadow pages, then 4 again.
        Assert.Equal(12, e.Stats.ShadowPagesCreated);
        Assert.Equal(8, e.Stats.ShadowPages);
    }

    [Fact]
    public void Every_vcpu_takes_a_switch_exit_and_the_teardown_is_counted_once()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100, ReadOnly);
        t.Map(r, B, 0x101, ReadOnly);
        t.Cr3(r, vcpu: 0);
        t.Cr3(r, vcpu: 1);            // rows 0–6
        t.Read(A, vcpu: 0);           // row 7 ends the first interval
        t.Read(A, vcpu: 1);           // rows 8–15: the second
        for (int i = 0; i < 7; i++)
        {
            t.Read(i % 2 == 0 ? B : A, vcpu: 1);
        }

        t.Read(A);                    // row 16: the third
        var e = t.Run(Hybrid("start=shadow,interval=8,hold=1,tlb_threshold=500,fault_threshold=100", Config(vcpus: 2)));

        // Interval 1 (shadow): 2 CR3 loads (cr3_switch each; the second finds the root built by the first), one read:
        //   2 × 1000 ≥ 100 × 1 → nested. Teardown: both vCPUs exit; the first carries the 4 pages freed (l4 and A's
        //   l3, l2, l1). Interval 2 (nested): 8 misses in 8 accesses → shadow: both vCPUs exit; the root shadow is
        //   built once (units 1 on vCPU 0) and vCPU 1 finds it (units 0).
        Assert.Equal(2, e.Count("hybrid_to_nested"));
        Assert.Equal(4, e.Units("hybrid_to_nested"));
        Assert.Equal(2, e.Count("hybrid_to_shadow"));
        Assert.Equal(1, e.Units("hybrid_to_shadow"));
        Assert.Equal(1, e.Counter("hybrid_to_shadow"));
        Assert.Equal(2, e.Counter("hybrid_switches"));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(7, 3)]
    public void A_hybrid_that_never_switches_counts_exactly_what_ept_counts(int seed, int vcpus)
    {
        var t = ShadowCachedPropertyTests.RandomTrace(seed, vcpus, pageTableWrites: true);
        var config = MachineConfig.Default(vcpus: vcpus);
        var h = t.Run(Hybrid($"interval={int.MaxValue}", config));
        var ept = t.Run(new EptEngine(config));
        AssertSameMeasurements(ept.Stats, h.Stats);
        Assert.Equal(ept.Count("ept_fill"), h.Count("ept_fill"));
        Assert.Equal(ept.Units("ept_fill"), h.Units("ept_fill"));
        foreach (string name in ept.CounterNames.Where(n => n != "tlb_permission_rewalks"))
        {
            Assert.Equal(ept.Counter(name), h.Counter(name));
        }

        Assert.Equal(ept.Counter("tlb_permission_rewalks"), h.Counter("nested_tlb_permission_rewalks"));
        Assert.Equal(0, h.Counter("hybrid_switches"));
    }

    [Theory]
    [InlineData("xen", 1, 1)]
    [InlineData("kvm", 2, 2)]
    [InlineData("xen", 7, 3)]
    public void A_hybrid_that_boots_in_shadow_and_never_switches_counts_exactly_what_shadow_cached_counts(string personality, int seed, int vcpus)
    {
        var t = ShadowCachedPropertyTests.RandomTrace(seed, vcpus, pageTableWrites: true);
        var config = MachineConfig.Default(vcpus: vcpus);
        var h = t.Run(Hybrid($"shadow={personality},start=shadow,interval={int.MaxValue}", config));
        var s = t.Run(EngineRegistry.Parse($"shadow-cached:personality={personality}").Create(config));

        // Everything but the pages: the hybrid's EPT root (built at boot) is counted with the shadow pages.
        AssertSameMeasurements(s.Stats, h.Stats);
        for (int i = 0; i < s.ExitKinds.Count; i++)
        {
            Assert.Equal(s.Stats.ExitCounts[i], h.Stats.ExitCounts[i]);
            Assert.Equal(s.Stats.ExitUnits[i], h.Stats.ExitUnits[i]);
        }

        foreach (string name in s.CounterNames)
        {
            Assert.Equal(s.Counter(name), h.Counter(name));
        }

        Assert.Equal(s.Stats.ShadowPagesCreated + 1, h.Stats.ShadowPagesCreated);
        Assert.Equal(s.Stats.ShadowPagesPeak + 1, h.Stats.ShadowPagesPeak);
    }

    [Theory]
    [InlineData("", 1, 1)]
    [InlineData("shadow=kvm", 2, 2)]
    [InlineData("", 5, 3)]
    [InlineData("shadow=kvm", 6, 1)]
    public void Switching_every_few_rows_every_translation_equals_the_reference_walk(string options, int seed, int vcpus)
    {
        // tlb_threshold=0: every interval with accesses and few exit-side events votes shadow; fault_threshold=30
        // sends the page-table-writing stretches back to nested. TestTrace.Run verifies every access.
        var t = ShadowCachedPropertyTests.RandomTrace(seed, vcpus, pageTableWrites: true);
        var config = MachineConfig.Default(vcpus: vcpus);
        string o = (options.Length > 0 ? options + "," : "") + "interval=7,hold=1,tlb_threshold=0,fault_threshold=30";
        var h = t.Run(Hybrid(o, config));
        Assert.True(h.Counter("hybrid_to_shadow") > 2, $"{h.Counter("hybrid_to_shadow")} switches to shadow");
        Assert.True(h.Counter("hybrid_to_nested") > 2, $"{h.Counter("hybrid_to_nested")} switches to nested");
        Assert.Equal(t.Run(new NativeEngine(config)).Stats.GuestFaults, h.Stats.GuestFaults);
        Assert.Equal(0, h.Stats.Events); // the driver, not the engine, counts events
        Assert.Equal(t.Batch.Count, h.Counter("hybrid_events_nested") + h.Counter("hybrid_events_shadow"));
    }

    [Fact]
    public void Xen_shadow_refuses_a_5_level_guest_and_kvm_shadow_replays_it()
    {
        var config = MachineConfig.Default(levels: 5);
        var spec = EngineRegistry.Parse("hybrid");
        Assert.Contains("5-level", spec.CannotReplay(config), StringComparison.Ordinal);
        Assert.Throws<EngineCannotReplayException>(() => spec.Create(config));
        Assert.Null(EngineRegistry.Parse("hybrid:shadow=kvm").CannotReplay(config));
    }

    [Fact]
    public void The_registry_names_hybrid_with_its_options_and_canonical_name()
    {
        var spec = EngineRegistry.Parse("hybrid:interval=5000,shadow=kvm");
        Assert.Equal("hybrid:interval=5000,shadow=kvm", spec.CanonicalName);
        Assert.Equal(["shadow", "start", "interval", "tlb_threshold", "fault_threshold", "hold"], spec.Descriptor.Options.Select(o => o.Name));
        Assert.Throws<EngineSpecException>(() => EngineRegistry.Parse("hybrid:interval=0"));
    }

    private static void AssertSameMeasurements(EngineStats expected, EngineStats actual)
    {
        Assert.Equal(expected.GuestFaults, actual.GuestFaults);
        Assert.Equal(expected.TlbMisses, actual.TlbMisses);
        Assert.Equal(expected.WalkRefs, actual.WalkRefs);
        Assert.Equal(expected.WalkL1, actual.WalkL1);
        Assert.Equal(expected.WalkL2, actual.WalkL2);
        Assert.Equal(expected.WalkMem, actual.WalkMem);
        Assert.Equal(expected.PscHits, actual.PscHits);
        Assert.Equal(expected.NestedTlbHits, actual.NestedTlbHits);
        Assert.Equal(expected.Exits, actual.Exits);
        Assert.Equal(expected.EmulatedWrites, actual.EmulatedWrites);
        Assert.Equal(expected.Unsyncs, actual.Unsyncs);
        Assert.Equal(expected.Resyncs, actual.Resyncs);
        Assert.Equal(expected.Unshadows, actual.Unshadows);
    }
}
