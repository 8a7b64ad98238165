using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Native;
using Replay.Engines.Registry;
using Replay.Engines.WritablePt;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// writable-pt against SPEC §3 and Xen 3.0's mm.c (<c>ptwr_do_page_fault</c>, <c>ptwr_flush</c>,
/// <c>cleanup_writable_pagetable</c>), each expectation derived from those rules. Facts used throughout:
/// every <c>cr3</c> is a HYPERCALL/new_baseptr, every <c>invlpg</c>/<c>flush</c> a HYPERCALL/mmuext_op, and both
/// reconnect every open slot first; a slot starts with prev_nr_updates = 0 (Xen zeroes struct domain), so the
/// domain's first trap on each slot is emulated; a reconnect's units are the entries that differ from the
/// snapshot, and reconnects done inside another exit add their units to that exit.
/// Addresses: A is PD 2 and Far PD 4 of the same PDPT, so they have different L1s under one L2.
/// </summary>
public sealed class WritablePtEngineTests
{
    private const ulong A = 0x40_0000;
    private const ulong Far = 0x80_0000;
    private const ulong Alias = 0xC0_0000;          // PD 6
    private const ulong K = 0xFFFF_8880_0000_0000;  // kernel half, PML4 273

    private static MachineConfig Config(int vcpus = 1) => MachineConfig.Default(vcpus: vcpus);

    private static ulong Leaf(ulong frame) => (frame << 12) | TestTrace.UserRw;

    private static ulong Page(ulong va, int i) => va + ((ulong)i << 12);

    [Fact]
    public void The_first_trap_on_a_slot_is_emulated_and_the_next_opens_a_batch_that_runs_natively()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.SetLeaf(r, Page(A, 1), Leaf(0x101)); // trap: ACTIVE slot free, prev_nr_updates 0 -> emulate, prev := 1
        t.SetLeaf(r, Page(A, 2), Leaf(0x102)); // trap: prev 1 -> disconnect (snapshot holds entry 1), the write lands
        t.SetLeaf(r, Page(A, 3), Leaf(0x103)); // native
        t.SetLeaf(r, Page(A, 3), Leaf(0x113)); // native, same entry again
        t.Invlpg(A);                           // mmuext_op, inside it a reconnect: entries 2 and 3 differ -> units 2
        t.Read(Page(A, 3));                    // reconnected: an ordinary walk, frame 0x113
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(4, e.Stats.Exits); // new_baseptr, ptwr_emulate, ptwr_disconnect, mmuext_op
        Assert.Equal(1, e.Count("new_baseptr"));
        Assert.Equal(1, e.Count("ptwr_emulate"));
        Assert.Equal(0, e.Units("ptwr_emulate"));
        Assert.Equal(1, e.Count("ptwr_disconnect"));
        Assert.Equal(0, e.Units("ptwr_disconnect"));
        Assert.Equal(1, e.Count("mmuext_op"));
        Assert.Equal(0, e.Units("mmuext_op"));
        Assert.Equal(0, e.Count("ptwr_reconnect"));
        Assert.Equal(1, e.WithinCount("ptwr_reconnect")); // the reconnect inside the hypercall: work, not an exit
        Assert.Equal(2, e.WithinUnits("ptwr_reconnect"));
        Assert.Equal(2, e.Counter("ptwr_traps"));
        Assert.Equal(1, e.Counter("ptwr_emulations"));
        Assert.Equal(1, e.Counter("ptwr_emulate_empty_batch"));
        Assert.Equal(1, e.Counter("ptwr_batches_active"));
        Assert.Equal(3, e.Counter("ptwr_updates"));           // 3 stores landed natively, 2 entries changed
        Assert.Equal(1, e.Counter("reconnect_hypercall"));
        Assert.Equal(1, e.Counter("wpt_updates_2_4"));
        Assert.Equal(1, e.Counter("disconnect_tlb_flushes"));
        Assert.Equal(1, e.Stats.EmulatedWrites);
        Assert.Equal(1, e.Stats.Unsyncs);
        Assert.Equal(1, e.Stats.Resyncs);
        Assert.Equal(0, e.Stats.ShadowPagesCreated);
    }

    [Fact]
    public void Writing_two_L1s_of_the_current_address_space_alternately_reconnects_the_occupant_of_the_ACTIVE_slot()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, Far, 0x200);
        t.Cr3(r);
        t.SetLeaf(r, Page(A, 1), Leaf(0x101));   // T1: emulate (slot's first trap)
        t.SetLeaf(r, Page(A, 2), Leaf(0x102));   // T2: disconnect L1(A)
        t.SetLeaf(r, Page(A, 3), Leaf(0x103));   // native
        t.SetLeaf(r, Page(Far, 1), Leaf(0x201)); // T3: ACTIVE busy -> reconnect L1(A) within the trap: entries 2,3
                                                 //     -> units 2; prev 2 -> disconnect L1(Far)
        t.SetLeaf(r, Page(A, 4), Leaf(0x104));   // T4: reconnect L1(Far) within: entry 1 -> units 1; disconnect L1(A)
        t.SetLeaf(r, Page(A, 5), Leaf(0x105));   // native
        t.Flush(all: false);                     // mmuext_op, reconnect L1(A) within: entries 4,5 -> units 2
        t.Read(Page(A, 4));
        t.Read(Page(Far, 1));
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(1, e.Count("ptwr_emulate"));
        Assert.Equal(3, e.Count("ptwr_disconnect"));
        Assert.Equal(0, e.Units("ptwr_disconnect"));
        Assert.Equal(0, e.Units("mmuext_op"));
        Assert.Equal(0, e.Count("ptwr_reconnect"));         // conflict reconnects are work inside the trap, not exits
        Assert.Equal(3, e.WithinCount("ptwr_reconnect"));   // T3, T4, the flush
        Assert.Equal(5, e.WithinUnits("ptwr_reconnect"));   // 2 + 1 + 2
        Assert.Equal(2, e.Counter("reconnect_conflict"));
        Assert.Equal(1, e.Counter("reconnect_hypercall"));
        Assert.Equal(5, e.Counter("reconnect_entries"));
        Assert.Equal(1, e.Counter("wpt_updates_1"));
        Assert.Equal(2, e.Counter("wpt_updates_2_4"));
        Assert.Equal(5, e.Counter("ptwr_updates"));         // T2, native, T3, T4, native
        Assert.Equal(4, e.Counter("ptwr_traps"));
        Assert.Equal(3, e.Counter("disconnect_tlb_flushes"));
        Assert.Equal(6, e.Stats.Exits);                     // new_baseptr + 4 traps + mmuext_op
    }

    [Fact]
    public void An_access_inside_the_disconnected_ACTIVE_region_reconnects_but_one_outside_it_does_not()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, Page(A, 1), 0x101);
        t.Map(r, Far, 0x200);
        t.Cr3(r);
        t.Read(A);                               // TLB miss 1
        t.Read(Far);                             // TLB miss 2
        t.SetLeaf(r, Page(A, 2), Leaf(0x102));   // emulate
        t.SetLeaf(r, Page(A, 3), Leaf(0x103));   // disconnect L1(A): every vCPU's non-global TLB entries go
        t.Read(Far);                             // TLB miss 3 (flushed); PD 4 is outside the region: no reconnect
        int beforeInside = t.Batch.Count;
        t.Read(Page(A, 1));                      // TLB miss 4; the walk reads the disconnected PD 2 entry -> PV trap,
                                                 // reconnect (entry 3 changed: units 1), the access retries
        t.Read(Page(A, 3));                      // TLB miss 5: never cached; no slot open
        var e = new WritablePtEngine(Config());
        e.Run(t.Batch, 0, beforeInside, verify: true);
        Assert.Equal(0, e.Count("ptwr_reconnect"));
        e.Run(t.Batch, beforeInside, t.Batch.Count, verify: true);
        var n = t.Run(new NativeEngine(Config()));

        Assert.Equal(1, e.Count("ptwr_reconnect"));
        Assert.Equal(1, e.Units("ptwr_reconnect"));
        Assert.Equal(1, e.Counter("reconnect_access"));
        Assert.Equal(1, e.Counter("wpt_updates_1"));
        Assert.Equal(5, e.Stats.TlbMisses);
        Assert.Equal(4, n.Stats.TlbMisses);                 // native keeps Far cached: the extra miss is the disconnect flush
        Assert.Equal(0, e.Stats.GuestFaults);
    }

    [Fact]
    public void A_TLB_hit_in_the_disconnected_region_does_not_fault_so_does_not_reconnect()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, K, 0x300, TestTrace.KernelRwGlobal);
        t.Map(r, Page(K, 1), 0x301, TestTrace.KernelRwGlobal);
        t.Cr3(r);
        t.Read(K, user: false);                                                 // TLB miss 1, a global entry
        t.SetLeaf(r, Page(K, 2), (0x302UL << 12) | TestTrace.KernelRwGlobal);   // emulate
        t.SetLeaf(r, Page(K, 3), (0x303UL << 12) | TestTrace.KernelRwGlobal);   // disconnect; the flush keeps globals
        t.Read(K, user: false);                                                 // TLB hit: no fault, no reconnect
        t.Read(Page(K, 1), user: false);                                        // TLB miss 2 in the region: reconnect
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(1, e.Count("ptwr_reconnect"));
        Assert.Equal(1, e.Units("ptwr_reconnect"));
        Assert.Equal(2, e.Stats.TlbMisses);
    }

    [Fact]
    public void After_a_batch_that_changed_nothing_the_next_trap_on_that_slot_is_emulated_and_the_one_after_batches()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.SetLeaf(r, Page(A, 1), Leaf(0x101)); // emulate (first trap), prev := 1
        t.SetLeaf(r, Page(A, 2), Leaf(0x102)); // disconnect
        t.SetLeaf(r, Page(A, 2), 0);           // native: back to the snapshot's value
        t.Invlpg(Page(A, 2));                  // mmuext_op: reconnect, 0 entries changed -> wpt_updates_0, prev := 0
        t.SetLeaf(r, Page(A, 3), Leaf(0x103)); // prev 0 -> emulate ("probably stuck"), prev := 1
        t.SetLeaf(r, Page(A, 4), Leaf(0x104)); // prev 1 -> disconnect
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(2, e.Count("ptwr_emulate"));
        Assert.Equal(2, e.Counter("ptwr_emulate_empty_batch"));
        Assert.Equal(2, e.Count("ptwr_disconnect"));
        Assert.Equal(0, e.Units("mmuext_op"));
        Assert.Equal(1, e.Counter("wpt_updates_0"));
        Assert.Equal(2, e.Counter("ptwr_batches"));
    }

    [Fact]
    public void An_L1_linked_at_two_L2_slots_is_always_emulated_even_after_one_link_goes()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        ulong l1 = t.TableOf(r, A, 1);
        t.PtInit(t.EntryOf(r, Alias, 2), (l1 << 12) | TestTrace.UserRw); // PD 6 -> the same L1: PGT_va_unknown
        t.Map(r, Far, 0x200);
        t.Cr3(r);
        t.SetLeaf(r, Page(A, 1), Leaf(0x101));   // emulate (several L2 slots); slots untouched
        t.SetLeaf(r, Page(A, 2), Leaf(0x102));   // emulate again: never batched
        t.SetLeaf(r, Page(Far, 1), Leaf(0x201)); // L1(Far) is mapped once: ACTIVE, prev 0 -> emulate
        t.SetLeaf(r, Page(Far, 2), Leaf(0x202)); // disconnect L1(Far)
        t.Read(Page(Alias, 1));                  // PD 6 is not the disconnected PD 4: no reconnect; frame 0x101
        t.PtWrite(t.EntryOf(r, Alias, 2), 0);    // mmu_update, inside it a reconnect of L1(Far) (entry 2: units 1); unlink PD 6
        t.SetLeaf(r, Page(A, 3), Leaf(0x103));   // still linked once: Xen keeps PGT_va_unknown until the type
                                                 // count drops to 0, so this is emulated too
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(3, e.Counter("ptwr_emulate_multi_l2"));
        Assert.Equal(1, e.Counter("ptwr_emulate_empty_batch"));
        Assert.Equal(4, e.Count("ptwr_emulate"));
        Assert.Equal(4, e.Counter("ptwr_emulations"));
        Assert.Equal(1, e.Count("ptwr_disconnect"));
        Assert.Equal(1, e.Count("mmu_update"));
        Assert.Equal(0, e.Units("mmu_update"));
        Assert.Equal(1, e.WithinCount("ptwr_reconnect"));
        Assert.Equal(1, e.WithinUnits("ptwr_reconnect"));
        Assert.Equal(0, e.Count("ptwr_reconnect"));
        Assert.Equal(5, e.Counter("ptwr_traps"));
        Assert.Equal(5, e.Stats.EmulatedWrites);           // 4 emulated + 1 mmu_update
    }

    [Fact]
    public void A_write_through_the_region_the_L1_itself_maps_is_emulated()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        ulong l1 = t.TableOf(r, A, 1);
        t.Map(r, Page(A, 7), l1);               // the L1 maps itself at A + 7 pages
        t.Cr3(r);
        t.PtWrite(t.EntryOf(r, Page(A, 1), 1), Leaf(0x101), va: Page(A, 7) + 8);  // disconnecting would unmap the
                                                                                  // va being written -> emulate
        t.PtWrite(t.EntryOf(r, Page(A, 2), 1), Leaf(0x102), va: K + 0x10);        // through another va: ACTIVE,
                                                                                  // prev 0 -> emulate
        t.PtWrite(t.EntryOf(r, Page(A, 3), 1), Leaf(0x103), va: K + 0x18);        // disconnect
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(1, e.Counter("ptwr_emulate_self_map"));
        Assert.Equal(1, e.Counter("ptwr_emulate_empty_batch"));
        Assert.Equal(2, e.Count("ptwr_emulate"));
        Assert.Equal(1, e.Count("ptwr_disconnect"));
    }

    [Fact]
    public void Writes_to_upper_tables_are_mmu_update_hypercalls_and_an_unlinked_L1_becomes_ordinary_memory()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);                                            // validates root, PDPT, PD, L1(A): 4 tables
        Assert.Equal(1, t.Map(r, Far, 0x200, init: false));  // PD 4 := new L1 -> mmu_update, the L1 becomes a table (5);
                                                             // its first entry -> trap, ACTIVE, prev 0 -> emulate
        t.Read(Far);
        ulong pd4 = t.EntryOf(r, Far, 2);
        ulong far1 = t.EntryOf(r, Page(Far, 1), 1);
        t.SetLeaf(r, Page(A, 1), Leaf(0x101));               // prev 1 -> disconnect L1(A)
        t.SetLeaf(r, Page(A, 2), Leaf(0x102));               // native
        t.PtWrite(pd4, 0);                                   // mmu_update, inside it a reconnect of L1(A) (units 2), then the unlink
                                                             // untypes L1(Far): deferred flush of every TLB
        t.PtWrite(far1, Leaf(0x201));                        // L1(Far) is no page table now: a plain store
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(2, e.Count("mmu_update"));
        Assert.Equal(0, e.Units("mmu_update"));
        Assert.Equal(1, e.WithinCount("ptwr_reconnect"));
        Assert.Equal(2, e.WithinUnits("ptwr_reconnect"));
        Assert.Equal(1, e.Count("ptwr_emulate"));
        Assert.Equal(1, e.Count("ptwr_disconnect"));
        Assert.Equal(1, e.Counter("reconnect_hypercall"));
        Assert.Equal(5, e.Counter("tables_validated"));
        Assert.Equal(1, e.Counter("tables_released"));
        Assert.Equal(1, e.Counter("deferred_tlb_flushes"));
        Assert.Equal(1, e.Counter("unhooked_pt_writes"));
        Assert.Equal(3, e.Stats.EmulatedWrites);            // 1 emulated + 2 mmu_update
        Assert.Equal(5, e.Stats.Exits);                      // new_baseptr, 2 mmu_update, emulate, disconnect
    }

    [Fact]
    public void Building_a_new_subtree_takes_one_mmu_update_per_upper_table_then_traps_on_the_L1()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        Assert.Equal(3, t.Map(r, K, 0x300, TestTrace.KernelRwGlobal, init: false));
        // PML4 273 := PDPT (mmu_update; the PDPT is now a table), its entry := PD (mmu_update), the PD's entry :=
        // L1 (mmu_update), the L1's entry: a trap on a live L1 -> emulate (first trap).
        t.Read(K, user: false);
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(3, e.Count("mmu_update"));
        Assert.Equal(1, e.Count("ptwr_emulate"));
        Assert.Equal(7, e.Counter("tables_validated"));
        Assert.Equal(0, e.Counter("unhooked_pt_writes"));
    }

    [Fact]
    public void CR3_loads_INVLPG_and_flushes_are_hypercalls_that_reconnect_first()
    {
        var t = new TestTrace();
        ulong r1 = t.NewRoot();
        ulong r2 = t.NewRoot();
        t.Map(r1, A, 0x100);
        t.Map(r2, Far, 0x200);
        t.Cr3(r1);                                // new_baseptr, nothing open
        t.SetLeaf(r1, Page(A, 1), Leaf(0x101));   // emulate
        t.SetLeaf(r1, Page(A, 2), Leaf(0x102));   // disconnect
        t.SetLeaf(r1, Page(A, 3), Leaf(0x103));   // native
        t.Invlpg(Page(A, 2));                     // mmuext_op, reconnect: units 2
        t.SetLeaf(r1, Page(A, 4), Leaf(0x104));   // prev 2 -> disconnect straight away
        t.Flush(all: false);                      // mmuext_op, units 1
        t.SetLeaf(r1, Page(A, 5), Leaf(0x105));   // disconnect
        t.Flush(all: true);                       // mmuext_op, units 1
        t.SetLeaf(r1, Page(A, 6), Leaf(0x106));   // disconnect
        t.Cr3(r2);                                // new_baseptr, units 1 (and r2 is pinned: 4 tables validated)
        t.Read(Far);
        t.Cr3(r1);                                // new_baseptr, nothing open
        t.Read(Page(A, 6));
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(3, e.Count("new_baseptr"));
        Assert.Equal(0, e.Units("new_baseptr"));
        Assert.Equal(3, e.Count("mmuext_op"));
        Assert.Equal(0, e.Units("mmuext_op"));
        Assert.Equal(4, e.Counter("reconnect_hypercall"));
        Assert.Equal(4, e.WithinCount("ptwr_reconnect"));   // inside the invlpg, both flushes and the cr3
        Assert.Equal(5, e.WithinUnits("ptwr_reconnect"));   // 2 + 1 + 1 + 1
        Assert.Equal(1, e.Count("ptwr_emulate"));
        Assert.Equal(4, e.Count("ptwr_disconnect"));
        Assert.Equal(3, e.Counter("wpt_updates_1"));
        Assert.Equal(1, e.Counter("wpt_updates_2_4"));
        Assert.Equal(11, e.Stats.Exits);
        Assert.Equal(8, e.Counter("tables_validated"));
    }

    [Fact]
    public void Stores_to_frames_of_no_loaded_hierarchy_are_plain_stores()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        Assert.Equal(3, t.Map(r, A, 0x100, init: false)); // 4 ptwrites before any CR3 load: nothing is a table yet
        t.Cr3(r);                                         // new_baseptr: the hierarchy becomes live (4 tables)
        t.PtWrite((0x500UL << 12) + 8, Leaf(0x501));      // a frame no live table links: plain store
        t.SetLeaf(r, Page(A, 1), Leaf(0x101));            // now a live L1: trap (emulate, first)
        t.Read(A);
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(2, e.Stats.Exits);
        Assert.Equal(1, e.Count("new_baseptr"));
        Assert.Equal(1, e.Count("ptwr_emulate"));
        Assert.Equal(5, e.Counter("unhooked_pt_writes"));
        Assert.Equal(4, e.Counter("tables_validated"));
    }

    [Fact]
    public void An_L1_of_a_hierarchy_that_is_not_loaded_uses_the_INACTIVE_slot_without_a_TLB_flush()
    {
        var t = new TestTrace();
        ulong r1 = t.NewRoot();
        ulong r2 = t.NewRoot();
        t.Map(r1, A, 0x100);
        t.Map(r2, A, 0x300);                      // same va, tables of its own
        t.Cr3(r2);
        t.Cr3(r1);                                // r2 stays pinned (a live hierarchy), r1 is current
        t.Read(A);                                // TLB miss 1: frame 0x100
        t.SetLeaf(r2, Page(A, 1), Leaf(0x301));   // r1's PD 2 does not point at r2's L1: INACTIVE, prev 0 -> emulate
        t.SetLeaf(r2, Page(A, 2), Leaf(0x302));   // INACTIVE disconnect: no L2 entry cleared, no TLB flush
        t.SetLeaf(r2, Page(A, 3), Leaf(0x303));   // native
        t.Read(A);                                // TLB hit, and nothing of r1 is disconnected: no reconnect
        t.SetLeaf(r1, Page(A, 1), Leaf(0x101));   // ACTIVE slot's first trap: emulate
        t.SetLeaf(r1, Page(A, 2), Leaf(0x102));   // ACTIVE disconnect: TLB flush
        t.Cr3(r2);                                // new_baseptr, inside it reconnect ACTIVE (1) then INACTIVE (2)
        t.Read(Page(A, 2));                       // TLB miss 2: frame 0x302
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(1, e.Counter("ptwr_batches_inactive"));
        Assert.Equal(1, e.Counter("ptwr_batches_active"));
        Assert.Equal(1, e.Counter("disconnect_tlb_flushes"));
        Assert.Equal(2, e.Count("ptwr_emulate"));
        Assert.Equal(0, e.Units("new_baseptr"));
        Assert.Equal(2, e.WithinCount("ptwr_reconnect"));
        Assert.Equal(3, e.WithinUnits("ptwr_reconnect"));
        Assert.Equal(2, e.Counter("reconnect_hypercall"));
        Assert.Equal(0, e.Count("ptwr_reconnect"));
        Assert.Equal(1, e.Counter("wpt_updates_1"));
        Assert.Equal(1, e.Counter("wpt_updates_2_4"));
        Assert.Equal(2, e.Stats.TlbMisses);
    }

    [Fact]
    public void Each_reconnect_lands_in_Xens_wpt_updates_bucket()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.SetLeaf(r, Page(A, 500), Leaf(0x500));  // emulate (first trap)
        Batch(t, r, 1, 1);                        // 1 entry    -> wpt_updates_1
        Batch(t, r, 2, 4);                        // 4 entries  -> wpt_updates_2_4
        Batch(t, r, 6, 5);                        // 5 entries  -> wpt_updates_5_7
        t.SetLeaf(r, Page(A, 11), Leaf(0x111));   // disconnect ...
        t.SetLeaf(r, Page(A, 11), 0);             // ... and undo it
        t.Invlpg(A);                              // 0 entries  -> wpt_updates_0, prev 0
        t.SetLeaf(r, Page(A, 12), Leaf(0x112));   // emulate
        Batch(t, r, 13, 200);                     // 200 entries -> wpt_updates_185_512
        var e = t.Run(new WritablePtEngine(Config()));

        Assert.Equal(1, e.Counter("wpt_updates_0"));
        Assert.Equal(1, e.Counter("wpt_updates_1"));
        Assert.Equal(1, e.Counter("wpt_updates_2_4"));
        Assert.Equal(1, e.Counter("wpt_updates_5_7"));
        Assert.Equal(1, e.Counter("wpt_updates_185_512"));
        Assert.Equal(5, e.Count("ptwr_disconnect"));
        Assert.Equal(2, e.Count("ptwr_emulate"));
        Assert.Equal(0, e.Units("mmuext_op"));
        Assert.Equal(5, e.WithinCount("ptwr_reconnect"));   // one inside each invlpg
        Assert.Equal(210, e.WithinUnits("ptwr_reconnect"));
        Assert.Equal(210, e.Counter("reconnect_entries"));
        Assert.Equal(212, e.Counter("ptwr_updates"));     // 1 + 4 + 5 + 2 + 200 stores
    }

    [Fact]
    public void Options_exit_kinds_and_counters_are_declared_once_in_the_order_reports_list_them()
    {
        var d = WritablePtEngine.Descriptor;
        Assert.Equal([("unpin_on_dying", OptionKind.Bool, "true")], d.Options.Select(o => (o.Name, o.Kind, o.Default)));
        Assert.Equal(
            [
                (ExitReason.PvTrap, "ptwr_disconnect"), (ExitReason.PvTrap, "ptwr_emulate"), (ExitReason.PvTrap, "ptwr_reconnect"),
                (ExitReason.Hypercall, "mmu_update"), (ExitReason.Hypercall, "new_baseptr"), (ExitReason.Hypercall, "mmuext_op"),
                (ExitReason.WithinExit, "ptwr_reconnect"),
            ],
            d.ExitKinds.Select(k => (k.Reason, k.Handler)));
        var e = EngineRegistry.Parse("writable-pt:unpin_on_dying=false").Create(Config());
        Assert.Equal(d.ExitKinds, e.ExitKinds);
        Assert.Equal(
            [
                "ptwr_traps", "ptwr_batches", "ptwr_batches_active", "ptwr_batches_inactive", "ptwr_emulations",
                "ptwr_emulate_empty_batch", "ptwr_emulate_multi_l2", "ptwr_emulate_self_map", "ptwr_emulate_smp",
                "ptwr_updates", "reconnect_hypercall", "reconnect_access", "reconnect_conflict", "reconnect_smp",
                "reconnect_entries", "disconnect_tlb_flushes", "deferred_tlb_flushes", "unhooked_pt_writes",
                "tables_validated", "tables_released", "level_conflicts", "tlb_permission_rewalks",
            ],
            e.CounterNames.Take(22));
        Assert.Equal(22, PtwrCounters.WptUpdates.Index);
        Assert.Equal(["wpt_updates_0", "wpt_updates_1", "wpt_updates_2_4", "wpt_updates_5_7"], e.CounterNames.Skip(22).Take(4));
        Assert.Equal("wpt_updates_185_512", e.CounterNames[^1]);
        Assert.Equal((7, 86), (e.Stats.ExitCounts.Length, e.Stats.Counters.Length));
    }

    [Theory]
    [InlineData(0, 0, "wpt_updates_0")]
    [InlineData(1, 1, "wpt_updates_1")]
    [InlineData(2, 2, "wpt_updates_2_4")]
    [InlineData(4, 2, "wpt_updates_2_4")]
    [InlineData(5, 3, "wpt_updates_5_7")]
    [InlineData(184, 62, "wpt_updates_182_184")]
    [InlineData(185, 63, "wpt_updates_185_512")]
    [InlineData(512, 63, "wpt_updates_185_512")]
    public void The_histogram_buckets_are_Xens_perfc_incr_histo_with_64_buckets_of_3(int modified, int bucket, string name)
    {
        Assert.Equal(bucket, PtwrCounters.Bucket(modified));
        Assert.Equal(name, PtwrCounters.Names[PtwrCounters.WptUpdatesOf(modified).Index]);
        Assert.Equal(PtwrCounters.WptUpdates.Index + bucket, PtwrCounters.WptUpdatesOf(modified).Index);
        Assert.Equal(PtwrCounters.WptUpdates.Index + 64, PtwrCounters.Names.Count);
    }

    [Fact]
    public void On_a_multi_vCPU_guest_only_an_L1_linked_exactly_once_into_the_current_space_is_batched()
    {
        var t = new TestTrace();
        ulong r1 = t.NewRoot();
        ulong r2 = t.NewRoot();
        t.Map(r1, A, 0x100);
        t.Map(r1, Page(A, 1), 0x101);
        t.Map(r2, A, 0x300);
        t.Cr3(r1, vcpu: 0);
        t.Cr3(r2, vcpu: 1);
        t.Cr3(r1, vcpu: 1);                                   // both vCPUs on r1; r2 stays pinned
        t.SetLeaf(r1, Page(A, 2), Leaf(0x102));               // ACTIVE, 1 link: passes the SMP check; emulate (first)
        t.SetLeaf(r1, Page(A, 3), Leaf(0x103));               // disconnect, both vCPUs' TLBs flushed
        t.Read(Page(A, 1), vcpu: 1);                          // vCPU 1 walks into the cleared PD 2 entry: reconnect (1)
        t.SetLeaf(r2, Page(A, 1), Leaf(0x301));               // INACTIVE, but linked once: cleanup (nothing open),
                                                              // emulate
        t.SetLeaf(r1, Page(A, 4), Leaf(0x104));               // ACTIVE, prev 1 -> disconnect
        t.PtWrite(t.EntryOf(r1, Page(A, 5), 1), Leaf(0x105), vcpu: 1); // the other vCPU writes natively too
        t.SetLeaf(r2, Page(A, 2), Leaf(0x302));               // INACTIVE: cleanup reconnects ACTIVE within the trap
                                                              // (entries 4,5: units 2), then emulate
        var e = t.Run(new WritablePtEngine(Config(vcpus: 2)));

        Assert.Equal(3, e.Count("ptwr_emulate"));
        Assert.Equal(0, e.Units("ptwr_emulate"));
        Assert.Equal(1, e.WithinCount("ptwr_reconnect"));
        Assert.Equal(2, e.WithinUnits("ptwr_reconnect"));
        Assert.Equal(2, e.Counter("ptwr_emulate_smp"));
        Assert.Equal(1, e.Counter("ptwr_emulate_empty_batch"));
        Assert.Equal(1, e.Counter("reconnect_smp"));
        Assert.Equal(1, e.Count("ptwr_reconnect"));
        Assert.Equal(1, e.Units("ptwr_reconnect"));
        Assert.Equal(2, e.Counter("ptwr_batches_active"));
        Assert.Equal(0, e.Counter("ptwr_batches_inactive"));
        Assert.Equal(3, e.Counter("ptwr_updates"));
    }

    [Fact]
    public void Ptdying_unpins_the_root_so_its_tables_become_ordinary_memory_once_no_vCPU_has_it_loaded()
    {
        var t = DyingTrace();
        var e = t.Run(new WritablePtEngine(Config()));

        // Dying(r2): mmuext_op (unpin); r2 is loaded nowhere: its 4 tables are released, deferred TLB flush.
        // Store to r2's L1: plain. Dying(r1): mmuext_op; r1 stays a table while vCPU 0 has it loaded.
        // Store to r1's L1: ACTIVE trap, emulate (first). Cr3(r2): pins r2 again (4 validated) and drops
        // vCPU 0's reference on r1: its 4 tables are released, deferred flush. Store to r1's L1: plain.
        Assert.Equal(2, e.Count("mmuext_op"));
        Assert.Equal(3, e.Count("new_baseptr"));
        Assert.Equal(1, e.Count("ptwr_emulate"));
        Assert.Equal(1, e.Counter("ptwr_traps"));
        Assert.Equal(2, e.Counter("unhooked_pt_writes"));
        Assert.Equal(12, e.Counter("tables_validated"));
        Assert.Equal(8, e.Counter("tables_released"));
        Assert.Equal(2, e.Counter("deferred_tlb_flushes"));
    }

    [Fact]
    public void With_unpin_on_dying_off_the_hint_is_ignored()
    {
        var t = DyingTrace();

        // Store to r2's L1: INACTIVE, emulate (first). Store to r1's L1: ACTIVE, emulate (first).
        // Cr3(r2); store to r1's L1: now INACTIVE, prev 1 -> disconnect. Built directly and from the option as
        // --engine gives it (its declared handle).
        foreach (var e in new IMmuEngine[] { new WritablePtEngine(Config(), new WritablePtOptions(UnpinOnDying: false)), EngineRegistry.Parse("writable-pt:unpin_on_dying=false").Create(Config()) })
        {
            t.Run(e);
            Assert.Equal(0, e.Count("mmuext_op"));
            Assert.Equal(3, e.Counter("ptwr_traps"));
            Assert.Equal(1, e.Counter("ptwr_batches_inactive"));
            Assert.Equal(0, e.Counter("unhooked_pt_writes"));
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    public void Without_page_table_writes_the_only_exits_are_the_CR3_INVLPG_and_flush_hypercalls_and_the_TLB_behaves_natively(int seed, int vcpus)
    {
        var rng = new Random(seed);
        var t = new TestTrace();
        var roots = new[] { t.NewRoot(), t.NewRoot(), t.NewRoot() };
        var vas = new List<ulong>();
        foreach (ulong root in roots)
        {
            for (int i = 0; i < 24; i++)
            {
                ulong va = ((ulong)rng.Next(4) << 30) | ((ulong)rng.Next(8) << 21) | ((ulong)rng.Next(16) << 12);
                t.Map(root, va, 0x1000 + (ulong)rng.Next(4096));
                vas.Add(va);
            }

            for (ulong k = 0; k < 4; k++)
            {
                t.Map(root, Page(K, (int)k), 0x900 + k, TestTrace.KernelRwGlobal); // global pages: the same in every space
            }
        }

        for (int v = 0; v < vcpus; v++)
        {
            t.Cr3(roots[v % roots.Length], vcpu: v);
        }

        int cr3s = vcpus, invlpgs = 0, flushes = 0;
        for (int i = 0; i < 3000; i++)
        {
            int vcpu = rng.Next(vcpus);
            int op = rng.Next(100);
            if (op < 70)
            {
                ulong va = vas[rng.Next(vas.Count)] + ((ulong)rng.Next(2) << 12); // sometimes unmapped: a guest fault
                t.Read(va, vcpu: vcpu);
                t.Write(va, vcpu: vcpu);
            }
            else if (op < 74)
            {
                t.Read(K + ((ulong)rng.Next(4) << 12), user: false, vcpu: vcpu);
            }
            else if (op < 84)
            {
                t.Cr3(roots[rng.Next(roots.Length)], vcpu: vcpu);
                cr3s++;
            }
            else if (op < 92)
            {
                t.Invlpg(vas[rng.Next(vas.Count)], vcpu: vcpu);
                invlpgs++;
            }
            else
            {
                t.Flush(all: rng.Next(2) == 0, vcpu: vcpu);
                flushes++;
            }
        }

        var e = t.Run(new WritablePtEngine(Config(vcpus)));
        var n = t.Run(new NativeEngine(Config(vcpus)));

        Assert.Equal(cr3s + invlpgs + flushes, e.Stats.Exits);
        Assert.Equal(cr3s, e.Count("new_baseptr"));
        Assert.Equal(invlpgs + flushes, e.Count("mmuext_op"));
        Assert.Equal(0, e.Units("new_baseptr") + e.Units("mmuext_op"));
        Assert.Equal(n.Stats.TlbMisses, e.Stats.TlbMisses);
        Assert.Equal(n.Stats.WalkRefs, e.Stats.WalkRefs);
        Assert.Equal(n.Stats.PscHits, e.Stats.PscHits);
        Assert.Equal(n.Stats.GuestFaults, e.Stats.GuestFaults);
        Assert.True(e.Stats.GuestFaults > 0);
    }

    /// <summary>Opens a batch on A's L1 with one trap and writes <paramref name="count"/> entries from <paramref name="first"/>, then INVLPG.</summary>
    private static void Batch(TestTrace t, ulong root, int first, int count)
    {
        for (int i = first; i < first + count; i++)
        {
            t.SetLeaf(root, Page(A, i), Leaf(0x100 + (ulong)i));
        }

        t.Invlpg(A);
    }

    /// <summary>r1 and r2 map A with their own tables; vCPU 0 loads r2 then r1; then the ptdying sequence.</summary>
    private static TestTrace DyingTrace()
    {
        var t = new TestTrace();
        ulong r1 = t.NewRoot();
        ulong r2 = t.NewRoot();
        t.Map(r1, A, 0x100);
        t.Map(r2, A, 0x300);
        t.Cr3(r2);
        t.Cr3(r1);
        t.Dying(r2);
        t.SetLeaf(r2, Page(A, 1), Leaf(0x301));
        t.Dying(r1);
        t.SetLeaf(r1, Page(A, 1), Leaf(0x101));
        t.Cr3(r2);
        t.SetLeaf(r1, Page(A, 2), Leaf(0x102));
        t.Read(A);
        return t;
    }
}
