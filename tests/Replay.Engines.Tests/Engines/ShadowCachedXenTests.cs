using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Registry;
using Replay.Engines.ShadowCached;
using Replay.Engines.ShadowFlush;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// shadow-cached with the Xen personality against SPEC §3 and REFERENCES §1, each expectation derived in a
/// comment. TestTrace allocates table frames from 0x10: the first root is 0x10 and mapping A makes its PDPT
/// 0x11, PD 0x12 and page table 0x13. Leaves are written without A, so prefetch never fills them; not-present
/// guest entries are prefetched as Xen's magic GNP entries. The hardware TLB and paging-structure caches are
/// flushed by every non-PCID CR3 load.
/// </summary>
public sealed class ShadowCachedXenTests
{
    internal const ulong A = 0x40_0000;  // PML4 0, PDPT 0, PD 2, PT index 0
    internal const ulong B = 0x40_1000;  // same page table, index 1
    internal const ulong C = 0x40_2000;
    internal const ulong D = 0x40_3000;

    internal static ShadowCachedEngine Engine(string options = "", MachineConfig? config = null) =>
        (ShadowCachedEngine)EngineRegistry.Parse("shadow-cached" + (options.Length > 0 ? ":" + options : "")).Create(config ?? MachineConfig.Default());

    internal static ulong Leaf(ulong frame) => (frame << 12) | TestTrace.UserRw;

    [Fact]
    public void A_first_read_builds_the_root_at_cr3_and_three_shadow_pages_in_one_hidden_fault()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.Read(A + 8);
        var e = t.Run(Engine());

        // cr3: CR_ACCESS/cr3_switch; the l4 shadow is not in the hash: built (units 1), pinned.
        // read A: TLB miss; the hardware reads the shadow root entry (1 ref): not present -> #PF exit; the guest
        //   walk succeeds -> shadow_fill creates l3, l2, l1 (units 3); prefetch looks at the 31 entries after A:
        //   all guest-not-present, so they become magic GNP entries and nothing is filled. Restart: 4 refs.
        // read A+8: TLB hit.
        Assert.Equal(2, e.Stats.Exits);
        Assert.Equal(1, e.Count("cr3_switch"));
        Assert.Equal(1, e.Units("cr3_switch"));
        Assert.Equal(1, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
        Assert.Equal(0, e.WithinCount("shadow_prefetch"));
        Assert.Equal(5, e.Stats.WalkRefs);
        Assert.Equal(4, e.Stats.ShadowPagesCreated);
        Assert.Equal(4, e.Stats.ShadowPages);
        Assert.Equal(4, e.Counter("shadow_hash_lookups"));
        Assert.Equal(4, e.Counter("shadow_hash_lookup_miss"));
        Assert.Equal(1, e.Counter("shadow_fault"));
        Assert.Equal(1, e.Counter("shadow_fault_fixed"));
    }

    [Theory]
    [InlineData("oos=false", "shadow_fault", "shadow_fault_fixed", 4, 1)]
    [InlineData("", "shadow_fault", "shadow_fault_fixed", 2, 2)]
    [InlineData("personality=kvm,oos=false", "pf_taken", "pf_fixed", 6, 1)]
    [InlineData("personality=kvm", "pf_taken", "pf_fixed", 2, 2)]
    public void Every_page_fault_exit_is_counted_as_a_fault_emulated_and_unsynced_writes_included(
        string options, string faults, string fixedFaults, int taken, int fixedCount)
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101));
        t.PtWrite(t.EntryOf(r, C, 1), Leaf(0x102));
        t.PtWrite(t.EntryOf(r, D, 1), Leaf(0x103), user: true);
        t.PtWrite(t.EntryOf(r, 0x40_4000, 1), Leaf(0x104));
        t.PtWrite(t.EntryOf(r, 0x40_5000, 1), Leaf(0x105));
        var e = t.Run(Engine(options));

        // Xen's shadow_fault and KVM's pf_taken count every #PF exit, whatever the handler does. read A: a fill
        // (fixed). Xen, OOS off: B emulated, C fast-emulated, D (user mode) unshadows the l1, E and F are native:
        // 4 faults, 1 fixed. KVM, OOS off: B to F are all emulated (KVM emulates user-mode writes too): 6 faults,
        // 1 fixed. OOS on, either personality: B unsyncs the l1, a fault that ends fixed (Xen falls through to
        // shadow_fault_fixed; KVM's fetch returns RET_PF_FIXED), and the later writes are native: 2 faults, 2 fixed.
        Assert.Equal(taken, e.Counter(faults));
        Assert.Equal(fixedCount, e.Counter(fixedFaults));
    }

    [Fact]
    public void Shadows_survive_a_context_switch_so_switching_back_takes_no_hidden_fault()
    {
        var t = new TestTrace();
        ulong p1 = t.NewRoot();
        t.Map(p1, A, 0x100);
        ulong p2 = t.NewRoot();
        t.Map(p2, A, 0x200);
        t.Cr3(p1);
        t.Read(A);
        t.Cr3(p2);
        t.Read(A);
        t.Cr3(p1);
        t.Read(A);
        var e = t.Run(Engine());

        // cr3 p1 (build, units 1), read (fill 3, 1+4 refs); cr3 p2 (build, units 1), read (fill 3, 1+4 refs);
        // cr3 p1: the pinned l4 shadow is found (units 0); read: TLB and PSC were flushed, the hardware walks the
        // cached shadow (4 refs) and finds the leaf: no exit.
        Assert.Equal(3, e.Count("cr3_switch"));
        Assert.Equal(2, e.Units("cr3_switch"));
        Assert.Equal(2, e.Count("shadow_fill"));
        Assert.Equal(6, e.Units("shadow_fill"));
        Assert.Equal(14, e.Stats.WalkRefs);
        Assert.Equal(8, e.Stats.ShadowPages);

        // shadow-flush throws its shadow away at each CR3 load: three hidden faults.
        var flush = t.Run(new ShadowFlushEngine(MachineConfig.Default()));
        Assert.Equal(3, flush.Count("shadow_fill"));
    }

    [Fact]
    public void A_write_to_a_shadowed_table_is_emulated_and_validated_into_the_shadow()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101));
        t.Read(B);
        var e = t.Run(Engine("oos=false"));

        // read A: fill units 3, 5 refs; the page table 0x13 is now write-protected.
        // ptwrite B's PTE: #PF exit, pt_emulate; one shadow of the frame validated (units 1): the guest entry is
        //   present but not accessed, so the shadow entry (the GNP magic from prefetch) becomes plain not-present.
        //   No present shadow entry changed: no flush.
        // read B: TLB miss; the PDE cache hit skips to the l1 (1 ref): not present -> #PF, fill with no new page
        //   (units 0); restart via the PDE cache again (1 ref). 7 refs, 2 PSC hits.
        Assert.Equal(1, e.Count("pt_emulate"));
        Assert.Equal(1, e.Units("pt_emulate"));
        Assert.Equal(1, e.Stats.EmulatedWrites);
        Assert.Equal(1, e.Counter("shadow_fault_emulate_write"));
        Assert.Equal(2, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
        Assert.Equal(7, e.Stats.WalkRefs);
        Assert.Equal(2, e.Stats.PscHits);
    }

    [Fact]
    public void A_second_write_to_the_last_emulated_frame_takes_the_fast_emulation_path_until_a_cr3_load()
    {
        var e = TwoWritesToOneFrameThenACr3Load().Run(Engine("oos=false"));

        // B: slow path (pt_emulate); C: same frame as the last emulated write -> fast_emulate; the CR3 load
        // clears last_write_emul_ok, so D takes the slow path again. Each validates one shadow entry.
        Assert.Equal(2, e.Count("pt_emulate"));
        Assert.Equal(1, e.Count("fast_emulate"));
        Assert.Equal(1, e.Units("fast_emulate"));
        Assert.Equal(2, e.Counter("shadow_fault_emulate_write"));
        Assert.Equal(1, e.Counter("shadow_fault_fast_emulate"));
        Assert.Equal(3, e.Stats.EmulatedWrites);
    }

    /// <summary>A read shadows the root's tables; B and C are written through one frame, a CR3 load, then D.</summary>
    private static TestTrace TwoWritesToOneFrameThenACr3Load()
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
        return t;
    }

    [Fact]
    public void Without_fast_emulation_every_trapped_write_takes_the_full_fault_path()
    {
        var e = TwoWritesToOneFrameThenACr3Load().Run(Engine("oos=false,fast_emulate=false"));

        // The trace of the test above, with Xen built without SHOPT_FAST_EMULATION: C, on the frame B was emulated
        // through, is emulated on the slow path too. Same writes, same shadow entries validated, one handler.
        Assert.Equal(3, e.Count("pt_emulate"));
        Assert.Equal(3, e.Units("pt_emulate"));
        Assert.Equal(0, e.Count("fast_emulate"));
        Assert.Equal(3, e.Counter("shadow_fault_emulate_write"));
        Assert.Equal(0, e.Counter("shadow_fault_fast_emulate"));
        Assert.Equal(3, e.Stats.EmulatedWrites);
    }

    [Fact]
    public void Freeing_any_shadow_page_ends_fast_emulation()
    {
        var t = new TestTrace();
        ulong p = t.NewRoot();
        t.Map(p, A, 0x100);
        ulong q = t.NewRoot();
        t.Map(q, A, 0x200);
        t.Cr3(q);
        t.Read(A);
        t.Cr3(p);
        t.Read(A);
        t.PtWrite(t.EntryOf(p, B, 1), Leaf(0x101));
        t.Dying(q);
        t.PtWrite(t.EntryOf(p, C, 1), Leaf(0x102));
        var e = t.Run(Engine("oos=false"));

        // B: slow-path emulation of p's page table arms fast emulation for its (direct-map) linear frame. The
        // ptdying hint for q, loaded nowhere, frees q's four shadow pages; shadow_free clears every vCPU's
        // last_write_emul_ok, so C, on the same linear frame, is emulated on the slow path again.
        Assert.Equal(2, e.Count("pt_emulate"));
        Assert.Equal(0, e.Count("fast_emulate"));
    }

    [Fact]
    public void Two_consecutive_emulated_zero_writes_to_one_frame_unshadow_it()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, B, 0x101);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, A, 1), 0);
        t.PtWrite(t.EntryOf(r, B, 1), 0);
        t.PtWrite(t.EntryOf(r, A, 1), Leaf(0x100));
        t.Read(A);
        var e = t.Run(Engine("oos=false"));

        // read A: fill (units 3). Zero to A's PTE: pt_emulate, the present shadow entry is cleared (units 1);
        //   remembered as the last zero-written frame. Zero to B's PTE: fast_emulate (units 1), the second zero
        //   write in a row to the frame -> early unshadow: its one shadow (the l1) freed, work within the exit.
        // The next write to the frame is native (no exit). read A: TLB/PSC flushed by the unshadow; the walk
        //   reads root, l3, l2 entries (3 refs; the l2 entry was unhooked) -> fill builds the l1 again (units 1).
        Assert.Equal(1, e.Count("pt_emulate"));
        Assert.Equal(1, e.Count("fast_emulate"));
        Assert.Equal(1, e.Counter("shadow_early_unshadow"));
        Assert.Equal(1, e.Counter("shadow_unshadow"));
        Assert.Equal(1, e.Stats.Unshadows);
        Assert.Equal(1, e.WithinCount("unshadow"));
        Assert.Equal(1, e.WithinUnits("unshadow"));
        Assert.Equal(2, e.Count("shadow_fill"));
        Assert.Equal(4, e.Units("shadow_fill"));
        Assert.Equal(5, e.Stats.Exits);
        Assert.Equal(5, e.Stats.ShadowPagesCreated);
        Assert.Equal(4, e.Stats.ShadowPages);
    }

    [Fact]
    public void A_non_zero_write_between_breaks_the_early_unshadow_run()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), 0);
        t.PtWrite(t.EntryOf(r, C, 1), Leaf(0x102));
        t.PtWrite(t.EntryOf(r, D, 1), 0);
        var e = t.Run(Engine("oos=false"));

        // zero, non-zero (reset_early_unshadow), zero: never two zero writes in a row.
        Assert.Equal(0, e.Counter("shadow_early_unshadow"));
        Assert.Equal(0, e.Stats.Unshadows);
        Assert.Equal(3, e.Stats.EmulatedWrites);
    }

    [Theory]
    [InlineData(B, "shadow_fault_fast_gnp")]
    [InlineData(0x8000_0000UL, "shadow_fault_bail_real_fault")]
    public void A_reflected_guest_fault_between_two_zero_writes_breaks_the_early_unshadow_run(ulong faulting, string path)
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, A, 1), 0);
        t.Read(faulting);
        t.PtWrite(t.EntryOf(r, C, 1), 0);
        var e = t.Run(Engine("oos=false"));

        // read A's prefetch left B's shadow entry a GNP magic entry; 0x8000_0000 has no guest PDPT entry. The zero
        // write to A's PTE is emulated and remembered; the read then faults for real and is reflected, by the fast
        // GNP path (B) or after the guest walk fails (0x8000_0000): both call sh_reset_early_unshadow, so the zero
        // write to C's PTE is the first of a new run: no early unshadow, both writes emulated.
        Assert.Equal(1, e.Counter(path));
        Assert.Equal(1, e.Count("guest_pf_reflect"));
        Assert.Equal(0, e.Counter("shadow_early_unshadow"));
        Assert.Equal(2, e.Stats.EmulatedWrites);
    }

    [Fact]
    public void A_zero_write_not_aligned_to_a_pte_neither_counts_towards_early_unshadow_nor_breaks_the_run()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), 0);
        t.PtWrite(t.EntryOf(r, C, 1) + 4, 0, width: 4);
        t.PtWrite(t.EntryOf(r, D, 1), 0);
        t.PtWrite(t.EntryOf(r, A, 1), 0);
        var e = t.Run(Engine("oos=false"));

        // hvm.c sh_emulate_unmap_dest: a zero write of at least 4 bytes calls check_for_early_unshadow only when
        // PTE-aligned, and a misaligned one does not reset the heuristic either. B (aligned zero) starts the run;
        // C+4 (4 bytes, misaligned) is emulated and ignored; D is the second aligned zero write in a row: the l1
        // is unshadowed. A's write is native. 3 emulated writes.
        Assert.Equal(1, e.Counter("shadow_early_unshadow"));
        Assert.Equal(3, e.Stats.EmulatedWrites);
    }

    [Fact]
    public void A_user_mode_page_table_write_unshadows_instead_of_emulating()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101), user: true);
        t.PtWrite(t.EntryOf(r, C, 1), Leaf(0x102));
        var e = t.Run(Engine("oos=false"));

        // The user-mode write exits (EXCEPTION_NMI/unshadow, units = the l1 shadow freed) and then runs
        // natively; the frame is no longer shadowed, so the next write is native too.
        Assert.Equal(1, e.Count("unshadow"));
        Assert.Equal(1, e.Units("unshadow"));
        Assert.Equal(0, e.Stats.EmulatedWrites);
        Assert.Equal(1, e.Stats.Unshadows);
        Assert.Equal(3, e.Stats.Exits);
    }

    [Fact]
    public void A_user_mode_write_to_a_leaf_table_unshadows_it_even_with_out_of_sync_on()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101), user: true);
        t.PtWrite(t.EntryOf(r, C, 1), Leaf(0x102));
        var e = t.Run(Engine());

        // sh_page_fault: the write fault on page table 0x13 (shadowed only as an l1) first unsyncs it ("always
        // unsync": shadow_unsync 1), but the fault has PFEC_user_mode, so it still takes the emulate path, which for
        // a user-mode write removes all shadows: one EXCEPTION_NMI/unshadow exit (units = the l1 freed), no
        // oos_unsync exit, and the frame is left neither out of sync nor shadowed. The kernel write after it is
        // native: 3 exits (cr3, fill, unshadow).
        Assert.Equal(1, e.Count("unshadow"));
        Assert.Equal(1, e.Units("unshadow"));
        Assert.Equal(0, e.Count("oos_unsync"));
        Assert.Equal(1, e.Counter("shadow_unsync"));
        Assert.Equal(0, e.Stats.EmulatedWrites);
        Assert.Equal(3, e.Stats.ShadowPages);
        Assert.Equal(3, e.Stats.Exits);
    }

    [Fact]
    public void Fast_emulation_needs_the_same_linear_frame_not_only_the_same_table()
    {
        const ulong DirectMap = 0xFFFF_8880_0001_3000; // the kernel's direct-map alias of page table 0x13
        const ulong Other = 0xFFFF_C900_0000_0000;     // another linear mapping of the same table
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101), va: DirectMap);
        t.PtWrite(t.EntryOf(r, C, 1), Leaf(0x102), va: Other);
        t.PtWrite(t.EntryOf(r, D, 1), Leaf(0x103), va: Other + 0x18);
        var e = t.Run(Engine("oos=false"));

        // sh_page_fault keys fast emulation on last_emulated_frame = va >> PAGE_SHIFT: B through the direct map is
        // emulated on the slow path; C reaches the same table through another linear frame: slow path again (and
        // it becomes the last emulated frame); D uses C's linear frame: fast_emulate.
        Assert.Equal(2, e.Count("pt_emulate"));
        Assert.Equal(1, e.Count("fast_emulate"));
        Assert.Equal(3, e.Stats.EmulatedWrites);
    }

    [Fact]
    public void A_user_mode_write_to_the_last_emulated_linear_frame_is_not_fast_emulated_but_unshadows()
    {
        const ulong DirectMap = 0xFFFF_8880_0001_3000;
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101), va: DirectMap);
        t.PtWrite(t.EntryOf(r, C, 1), Leaf(0x102), va: DirectMap + 0x10, user: true);
        var e = t.Run(Engine("oos=false"));

        // B: slow path, emulated. C: same linear frame, but the error code is user|write|present, not
        // write|present: no fast emulation (last_write_emul_ok is cleared); the slow path's emulate label
        // unshadows a user-mode page-table write instead of emulating it.
        Assert.Equal(1, e.Count("pt_emulate"));
        Assert.Equal(0, e.Count("fast_emulate"));
        Assert.Equal(1, e.Count("unshadow"));
        Assert.Equal(1, e.Stats.EmulatedWrites);
    }

    [Fact]
    public void A_leaf_table_goes_out_of_sync_on_a_write_and_is_resynced_at_the_next_cr3_load()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101));
        t.PtWrite(t.EntryOf(r, C, 1), Leaf(0x102));
        t.Read(B);
        t.Cr3(r);
        t.PtWrite(t.EntryOf(r, D, 1), Leaf(0x103));
        var e = t.Run(Engine());

        // ptwrite B: the page table is shadowed only as one l1: unsynced (oos_unsync; snapshot taken) and the
        //   write runs natively; ptwrite C: native, no exit. read B: the shadow entry is a stale GNP magic, but
        //   the page is out of sync, so no fast path: the slow path walks the guest and fills (units 0).
        // cr3: this vCPU's OOS page is resynced: 512 entries compared against the snapshot (work within the
        //   exit), write-protected again. ptwrite D: unsynced again.
        Assert.Equal(2, e.Count("oos_unsync"));
        Assert.Equal(2, e.Stats.Unsyncs);
        Assert.Equal(2, e.Counter("shadow_unsync"));
        Assert.Equal(0, e.Stats.EmulatedWrites);
        Assert.Equal(0, e.Counter("shadow_fault_fast_gnp"));
        Assert.Equal(2, e.Count("shadow_fill"));
        Assert.Equal(1, e.WithinCount("oos_resync"));
        Assert.Equal(512, e.WithinUnits("oos_resync"));
        Assert.Equal(1, e.Stats.Resyncs);
        Assert.Equal(2, e.Count("cr3_switch"));
        Assert.Equal(1, e.Units("cr3_switch"));
    }

    [Fact]
    public void Out_of_sync_slots_are_frame_mod_3_with_a_second_chance_and_a_collision_evicts()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        ulong[] vas = [A, 0x60_0000, 0x80_0000, 0xA0_0000]; // page tables 0x13, 0x14, 0x15, 0x16
        foreach (ulong va in vas)
        {
            t.Map(r, va, 0x100 + (va >> 21));
        }

        Assert.Equal([0x13UL, 0x14, 0x15, 0x16], vas.Select(v => t.TableOf(r, v, 1)));
        t.Cr3(r);
        foreach (ulong va in vas)
        {
            t.Read(va);
        }

        foreach (ulong va in vas)
        {
            t.PtWrite(t.EntryOf(r, va + 0x1000, 1), Leaf(0x200));
        }

        t.PtWrite(t.EntryOf(r, 0x60_2000, 1), Leaf(0x201));
        var e = t.Run(Engine());

        // Slots by frame mod 3: 0x13 -> 1, 0x14 -> 2, 0x15 -> 0: three unsyncs, no collision.
        // 0x16 -> 1, held by 0x13 in its home slot: 0x16 takes it and 0x13 moves on to slot 2, whose occupant
        //   0x14 is evicted with a full resync (512 compared).
        // 0x14 is write-protected again: its next write unsyncs it into slot 2 (home), held by 0x13 (not its
        //   home): 0x13 is evicted.
        Assert.Equal(5, e.Count("oos_unsync"));
        Assert.Equal(2, e.Counter("shadow_unsync_evict"));
        Assert.Equal(2, e.WithinCount("oos_resync"));
        Assert.Equal(1024, e.WithinUnits("oos_resync"));
        Assert.Equal(2, e.Stats.Resyncs);
    }

    [Fact]
    public void Invlpg_resyncs_only_the_one_entry_of_an_out_of_sync_table()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101));
        t.PtWrite(t.EntryOf(r, A, 1), 0);
        t.Invlpg(A);
        t.Read(A);
        var e = t.Run(Engine());

        // ptwrite B: unsync; ptwrite A (zero): native. invlpg A: INVLPG exit, A's shadow entry re-propagated from
        // the guest (1 entry, within the exit). read A: the shadow says guest-not-present, but the page is out of
        // sync so the slow path walks the guest: a real guest fault, reflected.
        Assert.Equal(1, e.Count("invlpg"));
        Assert.Equal(1, e.WithinCount("oos_resync"));
        Assert.Equal(1, e.WithinUnits("oos_resync"));
        Assert.Equal(1, e.Count("guest_pf_reflect"));
        Assert.Equal(1, e.Counter("shadow_fault_bail_real_fault"));
        Assert.Equal(1, e.Stats.GuestFaults);
        Assert.Equal(1, e.Counter("shadow_invlpg"));
    }

    [Fact]
    public void Invlpg_on_an_out_of_sync_table_empties_the_shadow_entry_so_the_next_access_refills_it()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, B, 1), Leaf(0x101));
        t.PtWrite(t.EntryOf(r, A, 1), Leaf(0x105) | Pte.Accessed);
        t.Invlpg(A);
        t.Read(A);
        var e = t.Run(Engine());

        // ptwrite B: the l1 goes out of sync; ptwrite A (a new, accessed leaf): native. invlpg A: sh_invlpg finds
        // the l1 out of sync and writes an empty shadow entry for A (one entry, within the exit), leaving the
        // snapshot alone. read A: the hardware walk meets the empty entry: #PF, the slow path walks the guest and
        // fills A from the new guest entry (shadow_fill, no page created): two fills in all.
        Assert.Equal(1, e.Count("invlpg"));
        Assert.Equal(1, e.WithinUnits("oos_resync"));
        Assert.Equal(2, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
    }

    [Fact]
    public void A_fault_on_a_magic_guest_not_present_entry_is_reflected_without_a_guest_walk()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.Read(B);
        var e = t.Run(Engine());

        // read A's prefetch left B's shadow entry as a GNP magic entry in an in-sync l1; read B: PDE cache hit
        // (1 ref), the magic entry -> shadow_fault_fast_gnp, reflected to the guest.
        Assert.Equal(1, e.Counter("shadow_fault_fast_gnp"));
        Assert.Equal(0, e.Counter("shadow_fault_bail_real_fault"));
        Assert.Equal(1, e.Count("guest_pf_reflect"));
        Assert.Equal(6, e.Stats.WalkRefs);
    }

    [Fact]
    public void Prefetch_stops_at_a_writable_accessed_entry_that_is_not_dirty()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, B, 0x101, TestTrace.UserRw | Pte.Accessed);
        t.Map(r, C, 0x102, TestTrace.UserRw | Pte.Accessed);
        t.Map(r, D, 0x103);
        t.Cr3(r);
        t.Read(A);
        t.Read(B);
        t.Read(D);
        var e = t.Run(Engine());

        // B and C are accessed and writable but not dirty: sh_prefetch stops at such an entry, since its first
        // write would fault again for the D bit. read A: fill; the prefetch stops at B: nothing prefetched.
        // read B: its shadow entry is empty -> fill (units 0); the prefetch stops at C. read D: fill (units 0); its
        // prefetch meets only guest-not-present entries, made GNP magic, none filled present. 3 fills.
        Assert.Equal(0, e.WithinCount("shadow_prefetch"));
        Assert.Equal(0, e.Counter("prefetched"));
        Assert.Equal(3, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
    }

    [Fact]
    public void Prefetch_fills_accessed_dirty_entries_and_stops_at_one_that_would_fault_again_for_its_dirty_bit()
    {
        const ulong E = 0x40_4000;
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, B, 0x101, TestTrace.UserRw | Pte.Accessed | Pte.Dirty);
        t.Map(r, C, 0x102, TestTrace.UserRw | Pte.Accessed);
        t.Map(r, D, 0x103, TestTrace.UserRw | Pte.Accessed | Pte.Dirty);
        t.Map(r, E, 0x104, TestTrace.UserRw | Pte.Accessed | Pte.Dirty);
        t.Cr3(r);
        t.Read(A);
        t.Read(D);
        var e = t.Run(Engine());

        // sh_prefetch after read A's fill: B (present, accessed, dirty) is filled; C is writable but not dirty, an
        // entry that "will need another fault for A/D-bit propagation anyway": the prefetch stops there, so D and E
        // stay empty. read D: a fill of its own (no page created), whose prefetch fills E. 2 prefetched in all.
        Assert.Equal(2, e.WithinCount("shadow_prefetch"));
        Assert.Equal(2, e.Counter("prefetched"));
        Assert.Equal(2, e.Count("shadow_fill"));
    }

    [Fact]
    public void Prefetch_stops_at_a_magic_guest_not_present_shadow_entry()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, C, 0x102, TestTrace.UserRw | Pte.Accessed | Pte.Dirty);
        t.Cr3(r);
        t.Read(A);
        t.PtWrite(t.EntryOf(r, D, 1), Leaf(0x103));
        t.Invlpg(C);
        t.Invlpg(A);
        t.Read(A);
        var e = t.Run(Engine());

        // read A: fill; the prefetch makes B (guest not present) a GNP magic entry and fills C (1 prefetched).
        // ptwrite D: the l1 goes out of sync. invlpg C, invlpg A: sh_invlpg empties both shadow entries. read A:
        // the slow path refills A; its prefetch meets B's non-zero magic entry first and stops ("If the shadow
        // already contains a value, stop"), leaving C empty: still 1 prefetched.
        Assert.Equal(1, e.Counter("prefetched"));
        Assert.Equal(1, e.WithinCount("shadow_prefetch"));
        Assert.Equal(2, e.Count("shadow_fill"));
    }

    [Fact]
    public void Allocation_under_pressure_unpins_the_least_recently_loaded_root()
    {
        var t = new TestTrace();
        ulong[] p = [t.NewRoot(), 0, 0];
        t.Map(p[0], A, 0x100);
        p[1] = t.NewRoot();
        t.Map(p[1], A, 0x200);
        p[2] = t.NewRoot();
        t.Map(p[2], A, 0x300);
        foreach (ulong root in p)
        {
            t.Cr3(root);
            t.Read(A);
        }

        t.Cr3(p[0]);
        var e = t.Run(Engine("pool_pages=8"));

        // Each process needs 4 shadow pages. p0, p1: 8 pages, the whole pool. cr3 p2: one page needed ->
        // shadow_prealloc stage 1 unpins from the least recently loaded end: p0's l4 (not loaded anywhere) and
        // with it its l3, l2, l1: 4 freed. read A in p2: 5 + 3 <= 8. cr3 p0: its shadow is gone (built again,
        // units 1) after unpinning p1 (4 more freed).
        Assert.Equal(2, e.Counter("shadow_prealloc_1"));
        Assert.Equal(0, e.Counter("shadow_prealloc_2"));
        Assert.Equal(8, e.Stats.ShadowPagesEvicted);
        Assert.Equal(2, e.WithinCount("unshadow"));
        Assert.Equal(8, e.WithinUnits("unshadow"));
        Assert.Equal(4, e.Units("cr3_switch"));
        Assert.Equal(8, e.Stats.ShadowPagesPeak);
        Assert.Equal(5, e.Stats.ShadowPages);
    }

    [Fact]
    public void When_every_root_is_loaded_prealloc_unhooks_below_the_current_roots()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        ulong[] vas = [A, 0x8000_0000, 0x100_0000_0000];
        foreach (ulong va in vas)
        {
            t.Map(r, va, 0x100);
        }

        t.Cr3(r);
        t.Read(A);
        t.Read(0x8000_0000);
        t.Read(0x100_0000_0000);
        var e = t.Run(Engine("pool_pages=8"));

        // A: root + 3 = 4. 0x8000_0000 (another PDPT entry): l2, l1 = 6. 0x100_0000_0000 (another PML4 entry)
        // needs 3: 6 + 3 > 8; stage 1 unpins the only root, but it is loaded (survives); stage 2 unhooks every
        // entry of the loaded root: the 5 pages below it are freed; then 3 are built.
        Assert.Equal(1, e.Counter("shadow_prealloc_1"));
        Assert.Equal(1, e.Counter("shadow_prealloc_2"));
        Assert.Equal(5, e.Stats.ShadowPagesEvicted);
        Assert.Equal(4, e.Stats.ShadowPages);
    }

    [Fact]
    public void Ptdying_for_an_unloaded_root_unshadows_its_hierarchy_in_the_hypercall()
    {
        var t = new TestTrace();
        ulong p = t.NewRoot();
        t.Map(p, A, 0x100);
        ulong q = t.NewRoot();
        t.Map(q, A, 0x200);
        t.Cr3(p);
        t.Read(A);
        t.Cr3(q);
        t.Dying(p);
        var e = t.Run(Engine());

        // The hint is a VMCALL; p's l4 shadow is loaded nowhere: sh_remove_shadows frees it and, by reference
        // count, its l3, l2, l1 (units 4). q's root remains.
        int vmcall = e.ExitKinds.ToList().FindIndex(k => k.Reason == ExitReason.Vmcall && k.Handler == "unshadow");
        Assert.Equal(1, e.Stats.ExitCounts[vmcall]);
        Assert.Equal(4, e.Stats.ExitUnits[vmcall]);
        Assert.Equal(1, e.Counter("shadow_unshadow"));
        Assert.Equal(1, e.Stats.ShadowPages);
    }

    [Fact]
    public void After_ptdying_the_vcpu_unshadows_at_the_first_emulated_zero_write()
    {
        var t = new TestTrace();
        ulong p = t.NewRoot();
        t.Map(p, A, 0x100);
        ulong q = t.NewRoot();
        t.Map(q, A, 0x200);
        t.PtInit(t.EntryOf(q, A, 2), (t.TableOf(p, A, 1) << 12) | TestTrace.UserRw); // q shares p's page table
        t.Cr3(p);
        t.Read(A);
        t.Cr3(q);
        t.Read(A);
        t.Cr3(p);
        t.Dying(p);
        t.PtWrite(t.EntryOf(p, A, 1), 0);
        var e = t.Run(Engine("oos=false"));

        // p's l4 is loaded: the hint unhooks its user entries; its l3 and l2 go (units 2), the shared l1 lives on
        // through q's l2. The zero write to the l1 is emulated and, the vCPU being told its process is dying,
        // unshadows the frame at once (one zero write, not two).
        Assert.Equal(2, e.Stats.ExitUnits[e.ExitKinds.ToList().FindIndex(k => k.Reason == ExitReason.Vmcall)]);
        Assert.Equal(1, e.Count("pt_emulate"));
        Assert.Equal(1, e.Counter("shadow_early_unshadow"));
        Assert.Equal(1, e.WithinUnits("unshadow"));
    }

    [Fact]
    public void A_pcid_trace_replays_as_xen_presents_a_shadow_mode_guest_without_pcid()
    {
        var t = new TestTrace();
        ulong p = t.NewRoot();
        t.Map(p, A, 0x100);
        ulong q = t.NewRoot();
        t.Map(q, A, 0x200);
        t.Cr3(p, pcid: 1);
        t.Read(A);
        t.Cr3(q, pcid: 2);
        t.Read(A);
        t.Cr3(p, pcid: 1, noFlush: true);
        t.Read(A);
        var config = MachineConfig.Default(pcid: true);
        var xen = t.Run(Engine("", config));
        var kvm = t.Run(Engine("personality=kvm", config));

        // Xen offers PCID only to HAP guests. Under kvm the last CR3 load (PCID 1, bit 63) keeps p's TLB entry and
        // the third read hits: 2 TLB misses. Under xen the guest has no PCID: the PCID bits and bit 63 are ignored,
        // every load drops the non-global translations, and each read misses: 3 TLB misses, and all three loads
        // had their PCID bits ignored (pcid_hidden_cr3_loads).
        Assert.Equal(3, xen.Counter("pcid_hidden_cr3_loads"));
        Assert.Equal(3, xen.Stats.TlbMisses);
        Assert.Equal(2, kvm.Stats.TlbMisses);
        Assert.DoesNotContain("pcid_hidden_cr3_loads", kvm.CounterNames);
    }

    [Fact]
    public void Xen_refuses_a_five_level_guest_its_shadow_code_never_runs_and_kvm_replays_it()
    {
        var five = MachineConfig.Default(levels: 5);
        string? why = EngineRegistry.Parse("shadow-cached").CannotReplay(five);

        // Xen's shadow code is built for 2-, 3- and 4-level guests only (guest_{2,3,4}.c): the descriptor says so
        // in one sentence and the engine refuses to be built; KVM's shadow MMU takes 5-level guests.
        Assert.NotNull(why);
        Assert.Contains("5-level", why, StringComparison.Ordinal);
        Assert.Contains("personality=kvm", why, StringComparison.Ordinal);
        Assert.Null(EngineRegistry.Parse("shadow-cached").CannotReplay(MachineConfig.Default()));
        Assert.Null(EngineRegistry.Parse("shadow-cached:personality=kvm").CannotReplay(five));
        Assert.Equal(why, Assert.Throws<EngineCannotReplayException>(() => Engine("", five)).Message);

        var t = new TestTrace { Levels = 5 };
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        var kvm = t.Run(Engine("personality=kvm", five));

        // root (l5) built at the CR3 load; the fill builds l4, l3, l2, l1.
        Assert.Equal(4, kvm.Units("shadow_fill"));
    }

    [Theory]
    [InlineData("oos=false", false, 1, 0, 0)]
    [InlineData("oos=false", true, 0, 0, 1)]
    [InlineData("", true, 0, 0, 1)]
    [InlineData("personality=kvm,oos=false", true, 1, 0, 0)]
    public void A_data_write_through_an_alias_of_a_shadowed_table_is_handled_like_a_page_table_write(
        string options, bool user, int emulated, int unsyncs, int unshadows)
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        const ulong Alias = 0x60_0000;
        t.Map(r, Alias, t.TableOf(r, A, 1), TestTrace.UserRw | Pte.Dirty); // the page table, mapped writable as data
        t.Cr3(r);
        t.Read(A);
        t.Write(Alias + 0x10, user: user);
        var e = t.Run(Engine(options));

        // read A write-protects page table 0x13; the write through the alias faults on it. With OOS on, a
        // kernel-mode write unsyncs the frame (shadowed only as an l1) and the alias is filled writable. A user-mode
        // write under Xen unsyncs it too, but PFEC_user_mode still takes sh_page_fault's emulate path, which
        // unshadows instead of emulating: one unshadow exit, no oos_unsync exit, with OOS on or off. KVM emulates a
        // kernel- or user-mode write with OOS off (the data is unknown: no entry units).
        Assert.Equal(emulated, e.Count("pt_emulate"));
        Assert.Equal(emulated, e.Stats.EmulatedWrites);
        Assert.Equal(unsyncs, e.Count("oos_unsync"));
        Assert.Equal(unshadows, e.Count("unshadow"));
    }

    [Fact]
    public void A_frame_that_gets_its_first_shadow_loses_its_writable_shadow_mappings()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        const ulong Alias = 0x60_0000;
        t.Map(r, Alias, t.TableOf(r, A, 1), TestTrace.UserRw | Pte.Dirty);
        t.Cr3(r);
        t.Write(Alias, user: false);
        t.Read(A);
        t.Write(Alias + 8, user: false);
        var e = t.Run(Engine("oos=false"));

        // write Alias (kernel mode): page table 0x13 is not shadowed yet: filled hardware-writable. read A shadows
        // 0x13: sh_remove_write_access finds that writable entry (shadow_writeable 1) and flushes the TLBs; the
        // next write through the alias faults and is emulated.
        Assert.Equal(1, e.Counter("shadow_writeable"));
        Assert.Equal(1, e.Count("pt_emulate"));
    }
}
