using Replay.Engines.Contract;
using Replay.Engines.Ept;
using Replay.Engines.Guest;
using Replay.Engines.Native;
using Replay.Engines.Paging;
using Replay.Engines.Registry;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// ept against SPEC §3, each expectation derived from the rules. A TLB miss is a 2-D walk: before each guest
/// entry is read, the gpa of its table is translated through the EPT (m references, or 0 on a nested-TLB hit, or
/// fewer from below an EPT paging-structure-cache hit), and after the guest walk the data frame's gpa is
/// translated too. Hence (n+1)(m+1)−1 references with no caches: n guest reads + (n+1) nested walks of m.
/// TestTrace puts the root at frame 0x10 and the tables it creates at 0x11, 0x12, … — all in the first 2 MiB of
/// guest-physical memory.
/// </summary>
public sealed class EptEngineTests
{
    private const ulong A = 0x40_0000;   // PML4 0, PDPT 0, PD 2, PT 0
    private const ulong B = 0x40_1000;   // same page table as A
    private const ulong C = 0x40_2000;   // same page table as A
    private const ulong Far = 0x80_0000; // PD 4: its page table does not exist until mapped

    /// <summary>No paging-structure caches in either dimension and no nested TLB: every walk is the full 2-D walk.</summary>
    private static readonly TlbGeometry NoCaches = TlbGeometry.Default with
    {
        PscPml5 = 0, PscPml4 = 0, PscPdpt = 0, PscPd = 0,
        NestedTlb = null, EptPscPml4 = 0, EptPscPdpt = 0, EptPscPd = 0,
    };

    private static MachineConfig Config(TlbGeometry? g = null, int levels = 4, int vcpus = 1) =>
        new(vcpus, 4UL << 30, levels, false, g ?? TlbGeometry.Default);

    private static EptEngine Ept(TlbGeometry? g = null, int levels = 4, bool prepopulate = false, int eptLevels = 4, bool largePages = false, int vcpus = 1) =>
        new(Config(g, levels, vcpus), new EptOptions(prepopulate, eptLevels, largePages));

    private static TestTrace OnePage(int levels = 4, ulong frame = 0x100)
    {
        var t = new TestTrace { Levels = levels };
        ulong r = t.NewRoot();
        t.Map(r, A, frame);
        t.Cr3(r);
        t.Read(A);
        t.Read(A + 8);
        return t;
    }

    [Fact]
    public void A_4_level_guest_on_4_level_EPT_walks_24_references_without_caches()
    {
        var e = OnePage().Run(Ept(NoCaches, prepopulate: true));

        // 4 guest entries, each after a 4-reference nested walk of its table's gpa, then a 4-reference nested walk
        // of the data gpa: 4 + 5 × 4 = 24 = (4+1)(4+1) − 1. The second read hits the TLB.
        Assert.Equal(1, e.Stats.TlbMisses);
        Assert.Equal(24, e.Stats.WalkRefs);
        Assert.Equal(4, e.Counter("guest_walk_refs"));
        Assert.Equal(20, e.Counter("ept_walk_refs"));
        Assert.Equal(5, e.Counter("nested_tlb_misses")); // no nested TLB: every nested translation walks
        Assert.Equal(0, e.Stats.PscHits);
        Assert.Equal(0, e.Stats.Exits);

        // prepopulate maps 4 GiB: root + 1 PDPT (512 GiB each) + 4 PDs (1 GiB each) + 2048 PTs (2 MiB each).
        Assert.Equal(1 + 1 + 4 + 2048, e.Stats.ShadowPagesCreated);
        Assert.Equal(2054, e.Stats.ShadowPages);
    }

    [Fact]
    public void A_5_level_guest_on_5_level_EPT_walks_35_references_without_caches()
    {
        var e = OnePage(levels: 5).Run(Ept(NoCaches, levels: 5, prepopulate: true, eptLevels: 5));

        // 5 + 6 × 5 = 35 = (5+1)(5+1) − 1. EPT pages: the 4 GiB map above plus one PML4 under the PML5 root.
        Assert.Equal(35, e.Stats.WalkRefs);
        Assert.Equal(5, e.Counter("guest_walk_refs"));
        Assert.Equal(30, e.Counter("ept_walk_refs"));
        Assert.Equal(2055, e.Stats.ShadowPagesCreated);
    }

    [Fact]
    public void A_4_level_guest_on_5_level_EPT_walks_29_references_without_caches()
    {
        var e = OnePage().Run(Ept(NoCaches, prepopulate: true, eptLevels: 5));

        // 4 + 5 × 5 = 29 = (4+1)(5+1) − 1.
        Assert.Equal(29, e.Stats.WalkRefs);
        Assert.Equal(25, e.Counter("ept_walk_refs"));
    }

    [Fact]
    public void With_large_pages_every_nested_walk_is_one_reference_shorter()
    {
        var e = OnePage().Run(Ept(NoCaches, prepopulate: true, largePages: true));

        // EPT leaves are PDEs: each nested walk reads PML4E, PDPTE, PDE = 3. 4 guest + 5 × 3 = 19.
        Assert.Equal(19, e.Stats.WalkRefs);
        Assert.Equal(15, e.Counter("ept_walk_refs"));

        // No EPT page tables: root + 1 PDPT + 4 PDs.
        Assert.Equal(6, e.Stats.ShadowPagesCreated);
    }

    [Fact]
    public void The_nested_TLB_and_both_paging_structure_caches_shorten_later_walks()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, B, 0x101);
        t.Cr3(r);
        t.Read(A);
        t.Read(B);
        t.Invlpg(A);
        t.Read(A);
        var e = t.Run(Ept(prepopulate: true));

        // Default geometry: guest PSC (PML4 2, PDPT 4, PD 32), nested TLB 32 entries, EPT PSC (2, 4, 32).
        // read A, caches cold. Root gpa 0x10000: nested TLB miss, EPT PSC miss: 4 refs (fills the EPT PML4E,
        //   PDPTE and PDE caches for gpa region 0); guest PML4E 1. PDPT 0x11000: nested TLB miss, EPT PDE-cache
        //   hit: only the EPT PTE, 1 ref; guest PDPTE 1. PD 0x12000 and PT 0x13000 likewise 1 + 1 each. Data gpa
        //   0x100000 (still below 2 MiB): EPT PDE-cache hit, 1 ref. = 4 + 1 + 2 + 2 + 2 + 1 = 12 refs (guest 4,
        //   EPT 8), 4 EPT PSC hits, 5 nested-TLB misses.
        // read B: TLB miss. Guest PDE-cache hit (same 2 MiB of va): start at the PT, gpa 0x13000: nested TLB hit,
        //   0 refs; guest PTE 1. Data gpa 0x101000: nested TLB miss, EPT PDE-cache hit, 1 ref. = 2 refs, 2 PSC hits
        //   (one per dimension), 1 nested hit, 1 nested miss.
        // invlpg A drops A's TLB entry and the guest PSC (PCID 0), not the nested TLB (guest operations never
        //   touch gpa → hpa mappings). read A: guest walk from the root, 4 refs; all five nested translations hit
        //   the nested TLB, 0 refs: the walk costs what a native one does. = 4 refs.
        Assert.Equal(3, e.Stats.TlbMisses);
        Assert.Equal(12 + 2 + 4, e.Stats.WalkRefs);
        Assert.Equal(4 + 1 + 4, e.Counter("guest_walk_refs"));
        Assert.Equal(8 + 1 + 0, e.Counter("ept_walk_refs"));
        Assert.Equal(4 + 2 + 0, e.Stats.PscHits);
        Assert.Equal(1, e.Counter("guest_psc_hits"));
        Assert.Equal(5, e.Counter("ept_psc_hits"));
        Assert.Equal(0 + 1 + 5, e.Counter("nested_tlb_hits"));
        Assert.Equal(5 + 1 + 0, e.Counter("nested_tlb_misses"));
        Assert.Equal(0, e.Stats.Exits);
    }

    [Fact]
    public void A_data_frame_in_another_GiB_misses_the_EPT_PD_and_PDPT_caches_but_hits_the_PML4_cache()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, C, 0x4_0000); // gpa 0x4000_0000 = 1 GiB
        t.Cr3(r);
        t.Read(A);
        t.Read(C);
        var e = t.Run(Ept(prepopulate: true));

        // read A: 12 refs, 4 EPT PSC hits (previous test).
        // read C: guest PDE-cache hit; PT gpa 0x13000 hits the nested TLB; guest PTE 1. Data gpa 1 GiB: nested TLB
        //   miss; EPT PDE cache (key gpa>>21 = 512) and PDPTE cache (key gpa>>30 = 1) miss, the PML4E cache
        //   (key 0) hits: read EPT PDPTE, PDE, PTE = 3. = 4 refs, 2 PSC hits.
        Assert.Equal(12 + 4, e.Stats.WalkRefs);
        Assert.Equal(8 + 3, e.Counter("ept_walk_refs"));
        Assert.Equal(4 + 2, e.Stats.PscHits);
    }

    [Fact]
    public void A_CR3_load_and_flush_1_keep_the_nested_TLB()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.Cr3(r);
        t.Read(A);
        t.Flush(all: true);
        t.Read(A);
        var e = t.Run(Ept(prepopulate: true));

        // 12 refs cold; then each reload or flush drops the TLB and guest PSC only, so each re-walk is 4 guest refs
        // with five nested-TLB hits. No exits at all.
        Assert.Equal(3, e.Stats.TlbMisses);
        Assert.Equal(12 + 4 + 4, e.Stats.WalkRefs);
        Assert.Equal(10, e.Counter("nested_tlb_hits"));
        Assert.Equal(0, e.Stats.Exits);
    }

    [Fact]
    public void A_fresh_hierarchy_takes_one_violation_per_table_frame_and_one_for_the_data_frame()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x400); // gpa 4 MiB: its own 2 MiB EPT region
        t.Map(r, B, 0x401);
        t.Cr3(r);
        t.Read(A);
        t.Read(B);
        t.Read(A);
        var e = t.Run(Ept(NoCaches));

        // Only the EPT root exists at start (1 page). read A touches, in walk order, root 0x10, PDPT 0x11, PD 0x12,
        // PT 0x13 and data 0x400, each unmapped: 5 violations, the access restarting after each.
        //   Units: the first (gpa 0x10000) creates the EPT PDPT, PD and PT of region 0 (3); 0x11–0x13 lie in the same
        //   EPT PT (0); gpa 0x400000 needs a new EPT PT for region 2 under the existing PD (1). = 4.
        //   Refs, attempt by attempt (no caches; a nested walk stops at the first not-present EPT entry):
        //   1: root: EPT PML4E absent = 1.  2: root 4 + guest 1 + PDPT's EPT PTE absent 4 = 9.
        //   3: 4+1+4+1 + PD 4 = 14.  4: 4+1+4+1+4+1 + PT 4 = 19.  5: 4+1+4+1+4+1+4+1 + data: EPT PDE absent 3 = 23.
        //   6: the full walk, 24. Total 90, of which guest 0+1+2+3+4+4 = 14.
        // read B: same PT, data 0x401 unmapped: 1 violation (units 0); attempt 1 = 24 (the data nested walk reads
        //   PML4E, PDPTE, PDE and the absent PTE), attempt 2 = 24.
        // read A again: TLB hit.
        Assert.Equal(6, e.Stats.Exits);
        Assert.Equal(6, e.Count("ept_fill"));
        Assert.Equal(4, e.Units("ept_fill"));
        Assert.Equal(6, e.Counter("ept_violations"));
        Assert.Equal(1 + 4, e.Stats.ShadowPagesCreated);
        Assert.Equal(5, e.Stats.ShadowPages);
        Assert.Equal(2, e.Stats.TlbMisses);
        Assert.Equal(90 + 48, e.Stats.WalkRefs);
        Assert.Equal(14 + 8, e.Counter("guest_walk_refs"));
    }

    [Fact]
    public void With_caches_violations_are_still_one_per_frame()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x400);
        t.Map(r, B, 0x401);
        t.Cr3(r);
        t.Read(A);
        t.Read(B);
        var e = t.Run(Ept());

        // As above: a violation drops only the cached EPT entries for its gpa (and, for a data gpa, the combined
        // ones for the va), so the restarts differ in references but not in which frames are missing.
        Assert.Equal(5 + 1, e.Count("ept_fill"));
        Assert.Equal(4, e.Units("ept_fill"));
    }

    [Fact]
    public void Prepopulate_takes_no_violations()
    {
        var e = OnePage(frame: 0x400).Run(Ept(prepopulate: true));
        Assert.Equal(0, e.Stats.Exits);
        Assert.Equal(0, e.Counter("ept_violations"));
    }

    [Fact]
    public void With_large_pages_a_violation_maps_a_whole_2MiB_region()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x400);
        t.Map(r, B, 0x401);
        t.Cr3(r);
        t.Read(A);
        t.Read(B);
        var e = t.Run(Ept(largePages: true));

        // read A: root 0x10 misses region 0 (creating the EPT PDPT and PD, 2 units, the PDE mapping 0–2 MiB);
        // PDPT, PD and PT frames are in region 0; data 0x400 is region 2 (a new PDE, 0 units). read B: region 2 is
        // mapped: no violation.
        Assert.Equal(2, e.Count("ept_fill"));
        Assert.Equal(2, e.Units("ept_fill"));
        Assert.Equal(1 + 2, e.Stats.ShadowPagesCreated);
    }

    [Fact]
    public void The_EPT_is_per_VM_so_another_vCPU_takes_no_violation_for_a_mapped_frame()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x400);
        t.Cr3(r, vcpu: 0);
        t.Cr3(r, vcpu: 1);
        t.Read(A, vcpu: 0);
        t.Read(A, vcpu: 1);
        var e = t.Run(Ept(NoCaches, vcpus: 2));

        // vCPU 0 takes the 5 violations; vCPU 1 walks the now complete EPT (24 refs, its own caches being empty).
        Assert.Equal(5, e.Count("ept_fill"));
        Assert.Equal(2, e.Stats.TlbMisses);
        Assert.Equal(90 + 24, e.Stats.WalkRefs);
    }

    [Fact]
    public void CR3_INVLPG_flush_page_table_writes_and_guest_faults_never_exit()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.Read(Far);                                         // guest fault: PD entry 4 not present
        Assert.Equal(1, t.Map(r, Far, 0x200, init: false));  // ptwrites: new PT 0x14 and the leaf
        t.Read(Far);
        t.Invlpg(A);
        t.Flush(all: false);
        t.Flush(all: true);
        t.Cr3(r);
        t.Write(A);
        t.Fetch(Far);
        var e = t.Run(Ept());
        var n = t.Run(new NativeEngine(Config()));

        // Violations only: read A: root, PDPT, PD, PT, data 0x100 (5; units 3, all in EPT region 0). read Far:
        // walks mapped tables to the absent PDE, a guest fault, no exit. read Far again: new PT 0x14 (region 0,
        // units 0) and data 0x200 = gpa 2 MiB (a new EPT PT for region 1, units 1): 2. The rest touches mapped
        // frames only.
        Assert.Equal(7, e.Stats.Exits);
        Assert.Equal(7, e.Count("ept_fill"));
        Assert.Equal(e.Stats.Exits, e.Counter("ept_violations"));
        Assert.Equal(4, e.Units("ept_fill"));
        Assert.Equal(1, e.Stats.GuestFaults);
        Assert.Equal(n.Stats.GuestFaults, e.Stats.GuestFaults);

        // The guest's A and D bits end as native leaves them.
        Assert.Equal(LeafOf(n, r, A), LeafOf(e, r, A));
        Assert.Equal(Pte.Accessed | Pte.Dirty, LeafOf(e, r, A) & (Pte.Accessed | Pte.Dirty));
    }

    [Fact]
    public void A_guest_2MiB_page_is_cached_as_4KiB_pieces_unless_the_host_uses_large_pages()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        const ulong Big = 0x4000_0000; // 1 GiB: PD 0 of PDPT 1
        t.Map(r, Big, 0x200, leafLevel: 2);
        t.Cr3(r);
        t.Read(Big);
        t.Read(Big + 0x1000);
        t.Map(r, Big, 0x400, leafLevel: 2, init: false); // remap the 2 MiB page...
        t.Invlpg(Big + 0x1000);                           // ...and invalidate it through a va other than the first
        t.Read(Big);
        t.Read(Big + 0x1000);
        var e = t.Run(Ept(prepopulate: true));
        var big = t.Run(Ept(prepopulate: true, largePages: true));
        var n = t.Run(new NativeEngine(Config()));

        // native: one 2 MiB TLB entry serves both reads: 1 miss; INVLPG drops it: 1 more.
        // ept (4 KiB EPT pages): a combined translation is no larger than the EPT page behind it, so each 4 KiB
        //   piece misses on its own: 2 + 2. The INVLPG drops both pieces (the reference check would catch a stale one).
        // ept:large_pages=true: 2 MiB EPT pages, so the combined entry is 2 MiB, as native: 1 + 1.
        Assert.Equal(2, n.Stats.TlbMisses);
        Assert.Equal(4, e.Stats.TlbMisses);
        Assert.Equal(2, big.Stats.TlbMisses);
    }

    [Fact]
    public void A_4KiB_piece_refilled_from_the_STLB_is_still_dropped_by_INVLPG_elsewhere_in_its_guest_page()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        const ulong Big = 0x4000_0000;
        t.Map(r, Big, 0x200, leafLevel: 2);
        t.Cr3(r);
        t.Read(Big);          // piece 0 into L1 and the STLB
        t.Read(Big + 0x1000); // piece 1 evicts piece 0 from the one-entry L1; both stay in the STLB
        t.Read(Big);          // STLB hit: piece 0 is refilled into L1
        t.Map(r, Big, 0x400, leafLevel: 2, init: false);
        t.Invlpg(Big + 0x1000);
        t.Read(Big);          // must miss: a stale piece 0 would fail the reference check
        var e = t.Run(Ept(TlbGeometry.Default with { L1d4K = new(1, 1) }, prepopulate: true));

        Assert.Equal(3, e.Stats.TlbMisses);
        Assert.Equal(1, e.Machine.StlbHits);
    }

    [Fact]
    public void Prepopulated_ept_has_no_exits_and_natives_guest_faults_on_a_random_trace()
    {
        var rng = new Random(20080301);
        var t = new TestTrace();
        ulong r = t.NewRoot();
        ulong[] pages = [A, B, C, A + 0x3000, Far, Far + 0x1000, 0x7FFF_F000, 0xFFFF_8880_0000_0000];
        const ulong Big = 0x4000_0000;
        foreach (var (va, i) in pages.Select((va, i) => (va, (ulong)i)))
        {
            t.Map(r, va, 0x100 + i);
        }

        t.Map(r, Big, 0x400, leafLevel: 2);
        var present = pages.ToDictionary(p => p, _ => true);
        t.Cr3(r);
        for (int i = 0; i < 200; i++)
        {
            int pick = rng.Next(pages.Length + 1);
            ulong va = pick == pages.Length ? Big + ((ulong)rng.Next(512) << 12) : pages[pick];
            switch (rng.Next(10))
            {
                case 0 when pick < pages.Length:
                    // Remap or unmap (the guest's invlpg follows, as a well-formed trace has it).
                    bool map = rng.Next(3) > 0;
                    t.SetLeaf(r, va, map ? ((0x100 + (ulong)rng.Next(64)) << 12) | TestTrace.UserRw : 0);
                    present[va] = map;
                    t.Invlpg(va);
                    break;
                case 1 when pick == pages.Length:
                    t.Map(r, Big, (ulong)(0x400 + (512 * rng.Next(4))), leafLevel: 2, init: false);
                    t.Invlpg(va);
                    break;
                case 2:
                    t.Write(va + (ulong)rng.Next(4096));
                    break;
                case 3:
                    t.Fetch(va);
                    break;
                case 4:
                    t.Cr3(r);
                    break;
                default:
                    t.Read(va + (ulong)rng.Next(4096), user: va < 0x8000_0000_0000_0000);
                    break;
            }
        }

        var n = t.Run(new NativeEngine(Config()));
        var e = t.Run(Ept(prepopulate: true));
        var cold = t.Run(Ept());

        Assert.True(n.Stats.GuestFaults > 0);
        Assert.Equal(0, e.Stats.Exits);
        Assert.Equal(n.Stats.GuestFaults, e.Stats.GuestFaults);
        Assert.Equal(n.Stats.GuestFaults, cold.Stats.GuestFaults);
        Assert.True(cold.Stats.Exits > 0);
        Assert.Equal(cold.Stats.Exits, cold.Counter("ept_violations"));
        Assert.Equal(e.Stats.WalkRefs, e.Counter("guest_walk_refs") + e.Counter("ept_walk_refs"));
    }

    [Fact]
    public void Options_are_validated_and_listed_with_their_defaults()
    {
        var o = EptEngine.Descriptor.Options.ToDictionary(x => x.Name);
        Assert.Equal("false", o["prepopulate"].Default);
        Assert.Equal("4", o["ept_levels"].Default);
        Assert.Equal("false", o["large_pages"].Default);
        Assert.Equal("5", o["ept_levels"].Normalize("ept", "5"));
        Assert.Throws<EngineSpecException>(() => o["ept_levels"].Normalize("ept", "3"));
        Assert.Throws<EngineSpecException>(() => o["ept_levels"].Normalize("ept", "6"));
        Assert.Throws<EngineSpecException>(() => o["large_pages"].Normalize("ept", "maybe"));
        Assert.Equal("EPT_VIOLATION", Assert.Single(Ept().ExitKinds).Reason.Name);
        Assert.Equal(48, Ept().ExitKinds[0].Reason.Code);
    }

    private static ulong LeafOf(IMmuEngine e, ulong root, ulong va)
    {
        var w = PageWalker.Walk(e.Machine.Memory, root << 12, va, AccessKind.Read, user: false, 4, setAccessedDirty: false);
        return w.LeafPte;
    }
}
