using Replay.Engines.Guest;
using Replay.Engines.Paging;
using static Replay.Engines.Tests.Engines.ShadowCachedXenTests;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// shadow-cached with the KVM personality against SPEC §3 and REFERENCES §2 (arch/x86/kvm/mmu/mmu.c), each
/// expectation derived in a comment. Frames as in <see cref="ShadowCachedXenTests"/>: root 0x10, PDPT 0x11,
/// PD 0x12, page table 0x13 for A.
/// </summary>
public sealed class ShadowCachedKvmTests
{
    private static ulong Pd(TestTrace t, ulong root, int index) => (t.TableOf(root, A, 2) << 12) + ((ulong)index << 3);

    [Fact]
    public void A_first_read_builds_the_root_and_three_pages_and_prefetches_only_accessed_entries_of_the_aligned_block()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, B, 0x101, TestTrace.UserRw | Pte.Accessed);
        t.Map(r, 0x40_8000, 0x108, TestTrace.UserRw | Pte.Accessed); // index 8: outside A's block of 8
        t.Cr3(r);
        t.Read(A);
        var e = t.Run(Engine("personality=kvm"));

        // cr3: root built (units 1). read A: fill l3, l2, l1 (units 3); pte_prefetch looks at entries 0-7 of the
        // l1: only B (index 1) is present and accessed: 1 prefetched. Every new page is an mmu_cache_miss.
        Assert.Equal(1, e.Units("cr3_switch"));
        Assert.Equal(3, e.Units("shadow_fill"));
        Assert.Equal(1, e.WithinUnits("shadow_prefetch"));
        Assert.Equal(4, e.Counter("mmu_cache_miss"));
        Assert.Equal(1, e.Counter("pf_fixed"));
        Assert.Equal(1, e.Counter("pf_taken"));
    }

    [Fact]
    public void Prefetch_stops_at_the_first_guest_entry_that_is_not_present_or_not_accessed()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, D, 0x103);
        t.Map(r, A, 0x100, TestTrace.UserRw | Pte.Accessed);
        t.Map(r, C, 0x102, TestTrace.UserRw | Pte.Accessed);
        t.Map(r, 0x40_4000, 0x104, TestTrace.UserRw | Pte.Accessed);
        t.Cr3(r);
        t.Read(D);
        var e = t.Run(Engine("personality=kvm"));

        // read D (index 3): FNAME(pte_prefetch) walks the aligned block 0-7, skipping D itself: index 0 (A,
        // present and accessed) is prefetched; index 1 (B) is not present: prefetch_gpte fails and the loop breaks,
        // so C (2) and index 4 are not prefetched. 1 prefetched.
        Assert.Equal(1, e.WithinUnits("shadow_prefetch"));
        Assert.Equal(1, e.Counter("prefetched"));
    }

    [Fact]
    public void The_third_emulated_write_to_a_non_leaf_page_with_no_use_between_floods_and_zaps_it()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        for (int i = 10; i < 13; i++)
        {
            t.PtWrite(Pd(t, r, i), Leaf(0x300 + (ulong)i));
        }

        t.Read(A);
        var e = t.Run(Engine("personality=kvm"));

        // Three writes to the PD (shadowed as an l2): each is emulated (pt_emulate, mmu_pte_write); the written
        // shadow entries were not present (units 0). write_flooding_count reaches 3 on the third with no fault
        // through the page between: the l2 shadow is zapped (mmu_flooded, mmu_shadow_zapped; 1 page freed within).
        // read A: the l3 entry was unlinked: the walk reads root, l3 (2 refs) -> fill builds a new l2 (units 1);
        // the l1 survived the zap unlinked and is found in the hash.
        Assert.Equal(3, e.Count("pt_emulate"));
        Assert.Equal(0, e.Units("pt_emulate"));
        Assert.Equal(3, e.Counter("mmu_pte_write"));
        Assert.Equal(1, e.Counter("mmu_flooded"));
        Assert.Equal(1, e.Counter("mmu_shadow_zapped"));
        Assert.Equal(1, e.Stats.Unshadows);
        Assert.Equal(1, e.WithinUnits("unshadow"));
        Assert.Equal(2, e.Count("shadow_fill"));
        Assert.Equal(4, e.Units("shadow_fill"));
        Assert.Equal(5, e.Counter("mmu_cache_miss"));
        Assert.Equal(4, e.Stats.ShadowPages);
    }

    [Fact]
    public void The_root_a_vcpu_runs_on_never_floods()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        for (int i = 10; i < 14; i++)
        {
            t.PtWrite((r << 12) + ((ulong)i << 3), Leaf(0x300 + (ulong)i));
        }

        var e = t.Run(Engine("personality=kvm"));

        // Four emulated writes to the root (PML4) with no fault between. Each is a write fault that
        // FNAME(page_fault) hands to the emulator after shadow_page_table_clear_flood, which clears the count of
        // every shadow page on the faulting address's walk; the root is on every walk, so its count never passes 1
        // and it is never zapped.
        Assert.Equal(4, e.Count("pt_emulate"));
        Assert.Equal(0, e.Counter("mmu_flooded"));
        Assert.Equal(0, e.Counter("mmu_shadow_zapped"));
    }

    [Fact]
    public void Reusing_a_cached_root_clears_its_flooding_count()
    {
        var t = new TestTrace();
        ulong p = t.NewRoot();
        t.Map(p, A, 0x100);
        ulong q = t.NewRoot();
        t.Map(q, A, 0x200);
        t.Cr3(p);
        t.Read(A);
        t.Cr3(q);
        t.Read(A);
        t.PtWrite((p << 12) + (10 << 3), Leaf(0x310));
        t.PtWrite((p << 12) + (11 << 3), Leaf(0x311));
        t.Cr3(p);
        t.Cr3(q);
        t.PtWrite((p << 12) + (12 << 3), Leaf(0x312));
        var e = t.Run(Engine("personality=kvm"));

        // p's root, cached as a previous root while q runs, takes two emulated writes (count 2: it is not on q's
        // walks). cr3 p finds it in the root cache: kvm_mmu_new_pgd clears its count; cr3 q, likewise q's. The third
        // write brings p's count to 1 only: no flood.
        Assert.Equal(2, e.Counter("prev_root_hits"));
        Assert.Equal(3, e.Count("pt_emulate"));
        Assert.Equal(0, e.Counter("mmu_flooded"));
    }

    [Fact]
    public void A_fault_through_the_page_between_writes_resets_the_flooding_count()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, B, 0x101);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(Pd(t, r, 10), Leaf(0x310));
        t.PtWrite(Pd(t, r, 11), Leaf(0x311));
        t.Read(B);
        t.PtWrite(Pd(t, r, 12), Leaf(0x312));
        var e = t.Run(Engine("personality=kvm"));

        // read B: its shadow entry is empty (B not accessed, not prefetched): the fault walks through the l2,
        // clearing its count; the third write is the first since: no flood.
        Assert.Equal(0, e.Counter("mmu_flooded"));
        Assert.Equal(3, e.Count("pt_emulate"));
    }

    [Fact]
    public void A_narrow_misaligned_write_zaps_the_page_but_a_one_byte_aligned_write_zaps_only_the_entry()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, A, 2), Leaf(t.TableOf(r, A, 1)) | Pte.Accessed, width: 1); // low byte: flags
        t.Read(A);
        t.PtWrite(Pd(t, r, 20) + 2, 0, width: 2);
        var e = t.Run(Engine("personality=kvm"));

        // 1-byte write at an aligned offset: not misaligned; A's present l2 entry is zapped (units 1, pde_zapped).
        // read A: refilled via the hash (the l1 is still there): fill units 0.
        // 2-byte write: narrower than 4 bytes -> the l2 page is zapped (counted as mmu_flooded, as KVM does).
        Assert.Equal(2, e.Count("pt_emulate"));
        Assert.Equal(1, e.Units("pt_emulate"));
        Assert.Equal(1, e.Counter("mmu_pde_zapped"));
        Assert.Equal(1, e.Counter("mmu_flooded"));
        Assert.Equal(1, e.Counter("mmu_shadow_zapped"));
        Assert.Equal(3, e.Units("shadow_fill"));
    }

    [Fact]
    public void A_leaf_table_goes_unsync_and_a_cr3_reload_syncs_all_512_entries()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101));
        t.PtWrite(t.EntryOf(r, C, 1), Leaf(0x102));
        t.Cr3(r);
        t.PtWrite(t.EntryOf(r, D, 1), Leaf(0x103));
        var e = t.Run(Engine("personality=kvm"));

        // B: mmu_try_to_unsync_pages: the l1 is the frame's only shadow -> unsync (oos_unsync), write native;
        // C: native. cr3 (no PCID, so a flush): kvm_mmu_sync_roots syncs the unsync page: 512 entries re-read,
        // write-protected again. D: unsync again.
        Assert.Equal(2, e.Count("oos_unsync"));
        Assert.Equal(2, e.Counter("mmu_unsync"));
        Assert.Equal(1, e.Counter("mmu_sync_page"));
        Assert.Equal(512, e.WithinUnits("oos_resync"));
        Assert.Equal(0, e.Stats.EmulatedWrites);
    }

    [Theory]
    [InlineData(0x105UL, 2)]
    [InlineData(0x100UL, 1)]
    public void Invlpg_on_an_unsync_page_drops_an_spte_whose_guest_entry_now_maps_another_frame(ulong frame, int fills)
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101));
        t.PtWrite(t.EntryOf(r, A, 1), Leaf(frame) | Pte.Accessed);
        t.Invlpg(A);
        t.Read(A);
        var e = t.Run(Engine("personality=kvm"));

        // ptwrite B: the l1 goes unsync; ptwrite A: native. invlpg A: kvm_mmu_invalidate_addr calls sync_spte on
        // A's present spte (one entry, within the exit). v6.4+ FNAME(sync_spte): if the guest entry now maps
        // another gfn (0x105) the spte is dropped, not refilled, and read A faults and fills it again (2 fills);
        // if only its bits changed (0x100, now accessed) the spte is updated in place and read A takes no fault.
        Assert.Equal(1, e.WithinUnits("oos_resync"));
        Assert.Equal(fills, e.Count("shadow_fill"));
    }

    [Fact]
    public void A_hash_hit_on_an_unsync_page_syncs_its_sptes_but_leaves_it_unsync_and_writable()
    {
        var t = new TestTrace();
        ulong p = t.NewRoot();
        t.Map(p, A, 0x100);
        ulong q = t.NewRoot();
        t.Map(q, A, 0x200);
        t.PtInit(t.EntryOf(q, A, 2), (t.TableOf(p, A, 1) << 12) | TestTrace.UserRw); // q shares p's page table
        t.Cr3(p);
        t.Read(A);
        t.PtWrite(t.EntryOf(p, B, 1), Leaf(0x101));
        t.Cr3(q);
        t.Read(A);
        t.PtWrite(t.EntryOf(p, C, 1), Leaf(0x102));
        var e = t.Run(Engine("personality=kvm"));

        // ptwrite B: p's page table (0x13) goes unsync. cr3 q: q's new root has no unsync child to sync. read A in
        // q: the fetch links q's l2 to the existing l1 of 0x13; kvm_mmu_find_shadow_page finds it unsync and calls
        // kvm_sync_page (512 entries within the exit), which "doesn't write-protect the page or mark it
        // synchronized": no mmu_sync_page, and ptwrite C still lands natively: one unsync in all.
        Assert.Equal(1, e.Counter("sync_page_left_unsync"));
        Assert.Equal(0, e.Counter("mmu_sync_page"));
        Assert.Equal(512, e.WithinUnits("oos_resync"));
        Assert.Equal(1, e.Count("oos_unsync"));
        Assert.Equal(0, e.Stats.EmulatedWrites);
    }

    [Theory]
    [InlineData("", 2, 1, 3)]
    [InlineData(",host_large_pages=none", 3, 2, 4)]
    public void A_guest_2m_page_the_host_backs_with_a_huge_page_gets_one_huge_spte(string options, int units, int misses, int pages)
    {
        const ulong H = 0x60_0000; // PD index 3, next to A's page table
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, H, 0x200, TestTrace.UserRw | Pte.Accessed, leafLevel: 2); // gpa 0x20_0000-0x3F_FFFF, no table in it
        t.Cr3(r);
        t.Read(H);
        t.Read(H + 0x1000);
        var e = t.Run(Engine("personality=kvm" + options));

        // Default (the host backs guest RAM with 2 MiB pages): kvm_mmu_hugepage_adjust finds no shadowed table in
        // the 2 MiB range (disallow_lpage 0), so FNAME(fetch) maps it with one 2 MiB spte in the l2: the fill creates
        // the l3 and l2 only (units 2) and the TLB caches one 2 MiB entry: the second read hits (1 miss); 3 pages.
        // host_large_pages=none: the guest page is splintered into a direct l1 (units 3) whose aligned block of 8
        // is prefetched; the second read misses the TLB (a 4 KiB entry) but finds its spte: 2 misses, 4 pages.
        Assert.Equal(1, e.Count("shadow_fill"));
        Assert.Equal(units, e.Units("shadow_fill"));
        Assert.Equal(misses, e.Stats.TlbMisses);
        Assert.Equal(pages, e.Stats.ShadowPages);
    }

    [Theory]
    [InlineData("", 2, 2)]
    [InlineData(",host_large_pages=1g", 1, 1)]
    [InlineData(",host_large_pages=none", 2, 4)]
    public void A_guest_1g_page_gets_sptes_no_larger_than_the_host_page(string options, int fills, int units)
    {
        const ulong G = 0x40_0000_0000; // PML4 0, PDPT index 256
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, G, 0x4_0000, TestTrace.UserRw | Pte.Accessed, leafLevel: 3); // gpa 1 GiB-2 GiB
        t.Cr3(r);
        t.Read(G);
        t.Read(G + 0x20_0000);
        var e = t.Run(Engine("personality=kvm" + options));

        // The spte level is min(guest level, host level) (host_pfn_mapping_level). 2m: the first fill creates the
        // l3 (the PDPT's shadow) and a direct l2 splitting the 1 GiB page, holding 2 MiB sptes (units 2); the second
        // read is in the next 2 MiB, whose spte is still empty: a second fill, no page. 1g: one 1 GiB spte in the
        // l3 (units 1) serves both reads. none: the l3, the direct l2 and a direct l1 for each 2 MiB touched: 2
        // fills, 4 pages.
        Assert.Equal(fills, e.Count("shadow_fill"));
        Assert.Equal(units, e.Units("shadow_fill"));
    }

    [Fact]
    public void A_table_shadowed_inside_a_huge_spte_write_protects_it_and_the_next_write_there_splits_it()
    {
        const ulong H = 0x60_0000;
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, H, 0x200, TestTrace.UserRw | Pte.Accessed | Pte.Dirty, leafLevel: 2); // frames 0x200-0x3FF
        const ulong Q = 0x250; // a second root inside that 2 MiB page, sharing r's PDPT
        t.PtInit(Q << 12, (t.TableOf(r, A, 3) << 12) | TestTrace.UserRw);
        t.Cr3(r);
        t.Write(H);
        t.Cr3(Q);
        t.Cr3(r);
        t.Write(H + 0x1000);
        t.Write(H + 0x5_0000, user: false);
        var e = t.Run(Engine("personality=kvm"));

        // write H: fill l3, l2 (units 2) with a writable 2 MiB spte (the guest page is dirty). cr3 Q: Q's root is
        // shadowed, so frame 0x250 is write-tracked: account_shadowed write-protects every spte that maps it, the
        // huge one included (rmap_write_protected 1), and disallows a huge page over its range. write H+0x1000: the
        // read-only huge spte faults; kvm_mmu_hugepage_adjust now allows only 4 KiB: the huge spte is replaced by a
        // direct l1 (units 1) and the write runs. write to 0x250 through the mapping (kernel mode): its spte is
        // empty (outside the prefetched block), the fault finds a write-tracked upper-level table: emulated.
        Assert.Equal(1, e.Counter("rmap_write_protected"));
        Assert.Equal(2, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
        Assert.Equal(1, e.Counter("dirty_faults"));
        Assert.Equal(1, e.Count("pt_emulate"));
    }

    [Fact]
    public void A_cr3_load_with_the_pcid_no_flush_bit_does_not_sync()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r, pcid: 1);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101));
        t.Cr3(r, pcid: 1, noFlush: true);
        t.Flush(all: false);
        var e = t.Run(Engine("personality=kvm", MachineConfig.Default(pcid: true)));

        // CR3 with bit 63: kvm_set_cr3 skips the TLB flush and with it the sync. The guest's flush then syncs.
        Assert.Equal(1, e.Counter("mmu_sync_page"));
        Assert.Equal(1, e.WithinCount("oos_resync"));
    }

    [Fact]
    public void The_root_cache_keeps_the_current_and_three_previous_roots()
    {
        var t = new TestTrace();
        var p = new ulong[5];
        for (int i = 0; i < 5; i++)
        {
            p[i] = t.NewRoot();
            t.Map(p[i], A, 0x100 + (ulong)i);
        }

        foreach (int i in new[] { 0, 1, 2, 3, 0, 4, 1 })
        {
            t.Cr3(p[i]);
            t.Read(A);
        }

        var e = t.Run(Engine("personality=kvm"));

        // p0..p3: four misses, each root built (cache: current + 3 previous). p0: found among the previous
        // roots (prev_root_hits 1). p4: miss, built; p1, the least recently used, leaves the cache. p1: miss in
        // the cache, but its shadow page is still in the hash: nothing built.
        Assert.Equal(1, e.Counter("prev_root_hits"));
        Assert.Equal(7, e.Count("cr3_switch"));
        Assert.Equal(5, e.Units("cr3_switch"));
        Assert.Equal(5, e.Count("shadow_fill"));
    }

    [Fact]
    public void Under_five_free_pages_the_oldest_created_non_root_pages_are_recycled()
    {
        var t = new TestTrace();
        ulong p0 = t.NewRoot();
        t.Map(p0, A, 0x100);
        ulong p1 = t.NewRoot();
        t.Map(p1, A, 0x200);
        t.Cr3(p0);
        t.Read(A);
        t.Cr3(p1);
        t.Read(A);
        t.Cr3(p0);
        t.Read(A);
        var e = t.Run(Engine("personality=kvm,pool_pages=8"));

        // p0: root + 3 = 4 pages (4 free). cr3 p1: fewer than 5 free -> zap up to 25 - 4 oldest-created pages,
        // skipping roots (p0's root is a cached previous root): p0's l3, l2, l1 (mmu_recycled 3); p1's root
        // and its 3 pages: 5 live. cr3 p0: a previous-root hit. read A: p0's root lost its l3 -> fault; 3 free
        // -> zap p1's l3, l2, l1 (both roots skipped); p0's path is built again (units 3).
        Assert.Equal(6, e.Counter("mmu_recycled"));
        Assert.Equal(6, e.Stats.ShadowPagesEvicted);
        Assert.Equal(9, e.Units("shadow_fill"));
        Assert.Equal(1, e.Counter("prev_root_hits"));
        Assert.Equal(5, e.Stats.ShadowPages);
    }
}
