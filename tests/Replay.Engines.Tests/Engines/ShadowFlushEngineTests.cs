using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Native;
using Replay.Engines.Paging;
using Replay.Engines.Registry;
using Replay.Engines.ShadowFlush;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// shadow-flush against SPEC §3, each expectation derived from the rules. Geometry: TlbGeometry.Default
/// (paging-structure caches PML4 2, PDPT 4, PD 32). Hardware walks of the shadow count one reference per
/// level read, stopping at the first not-present shadow entry; the PSC caches present shadow upper entries.
/// </summary>
public sealed class ShadowFlushEngineTests
{
    private const ulong A = 0x40_0000;       // PML4 0, PDPT 0, PD 2, PT 0
    private const ulong B = 0x40_1000;       // same page table as A
    private const ulong Far = 0x80_0000;     // PD 4: its page table does not exist until mapped
    private const ulong K = 0xFFFF_8880_0000_0000; // kernel half, PML4 273

    private static MachineConfig Config(bool pcid = false) => MachineConfig.Default(pcid: pcid);

    [Fact]
    public void Options_exit_kinds_and_counters_are_declared_once_in_the_order_reports_list_them()
    {
        var d = ShadowFlushEngine.Descriptor;
        Assert.Equal(["keep_global", "prefetch"], d.Options.Select(o => o.Name));
        Assert.Equal(("false", 0L, 511L), (d.Options[0].Default, d.Options[1].Min, d.Options[1].Max));
        Assert.Equal(
            [
                (ExitReason.CrAccess, "cr3_flush"), (ExitReason.CrAccess, "flush_all"), (ExitReason.Invlpg, "invlpg"),
                (ExitReason.ExceptionNmi, "shadow_fill"), (ExitReason.ExceptionNmi, "guest_pf_reflect"),
            ],
            d.ExitKinds.Select(k => (k.Reason, k.Handler)));
        var e = EngineRegistry.Parse("shadow-flush:keep_global=true,prefetch=3").Create(Config());
        Assert.Equal(["shadow_fault", "shadow_fault_fixed", "dirty_faults", "prefetched", "tlb_permission_rewalks", "shadow_entries_dropped"], e.CounterNames);
        Assert.Equal(d.ExitKinds, e.ExitKinds);
        Assert.Equal((5, 6), (e.Stats.ExitCounts.Length, e.Stats.Counters.Length));
    }

    [Fact]
    public void A_first_read_takes_one_hidden_fault_that_builds_three_shadow_pages()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.Read(A + 8);
        var e = t.Run(new ShadowFlushEngine(Config()));

        // cr3: CR_ACCESS/cr3_flush, nothing to drop (units 0); the root shadow page is allocated.
        // read A: TLB miss; the hardware reads the shadow root entry (1 ref): not present -> #PF exit,
        //   guest walk succeeds -> shadow_fill creating L3, L2, L1 shadow pages (units 3); the access restarts
        //   and walks 4 levels (4 refs). Second read: TLB hit, nothing.
        Assert.Equal(2, e.Stats.Exits);
        Assert.Equal(1, e.Count("cr3_flush"));
        Assert.Equal(0, e.Units("cr3_flush"));
        Assert.Equal(1, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
        Assert.Equal(1, e.Stats.TlbMisses);
        Assert.Equal(5, e.Stats.WalkRefs);
        Assert.Equal(0, e.Stats.PscHits);
        Assert.Equal(4, e.Stats.ShadowPages);
        Assert.Equal(4, e.Stats.ShadowPagesCreated);
        Assert.Equal(0, e.Stats.GuestFaults);
    }

    [Fact]
    public void The_first_write_through_a_read_filled_clean_page_is_a_dirty_tracking_fault()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.Write(A);
        var e = t.Run(new ShadowFlushEngine(Config()));

        // read A: as above (fill units 3, 5 refs). The shadow leaf is read-only: guest D is clear.
        // write A: the TLB entry forbids the write -> dropped, TLB miss; the PDE cache hits (1 ref) and the
        //   leaf is present but read-only -> #PF exit; the guest walk sets D -> shadow_fill with no new pages
        //   (units 0), counted as a dirty fault; the restart hits the PDE cache again (1 ref).
        Assert.Equal(2, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
        Assert.Equal(1, e.Counter("dirty_faults"));
        Assert.Equal(2, e.Stats.TlbMisses);
        Assert.Equal(7, e.Stats.WalkRefs);
        Assert.Equal(2, e.Stats.PscHits);
        Assert.Equal(Pte.Dirty | Pte.Accessed, LeafOf(e, r, A) & (Pte.Dirty | Pte.Accessed));
    }

    [Fact]
    public void A_failing_guest_walk_is_reflected_and_the_retry_fills()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(Far);                                     // guest fault: PD entry 4 not present
        Assert.Equal(1, t.Map(r, Far, 0x200, init: false)); // the guest kernel adds a page table and the leaf
        t.Read(Far);                                     // the retried access
        var e = t.Run(new ShadowFlushEngine(Config()));
        var n = t.Run(new NativeEngine(Config()));

        // shadow-flush: first read: 1 ref (empty shadow root), #PF exit, guest walk fails -> guest_pf_reflect.
        //   No invalidation is needed (not-present -> present). Retry: 1 ref, shadow_fill (units 3), 4 refs.
        Assert.Equal(1, e.Count("guest_pf_reflect"));
        Assert.Equal(1, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
        Assert.Equal(1, e.Stats.GuestFaults);
        Assert.Equal(6, e.Stats.WalkRefs);
        Assert.Equal(2, e.Counter("shadow_fault"));

        // native: the failing walk reads PML4, PDPT and PD entries (3 refs); the #PF drops the paging-structure
        //   cache entries it made for that va (SDM §4.10.4.1), so the retry walks all 4 levels (4 refs).
        Assert.Equal(0, n.Stats.Exits);
        Assert.Equal(1, n.Stats.GuestFaults);
        Assert.Equal(2, n.Stats.TlbMisses);
        Assert.Equal(7, n.Stats.WalkRefs);
        Assert.Equal(0, n.Stats.PscHits);
    }

    [Fact]
    public void A_CR3_reload_empties_the_shadow_so_the_next_access_refills_it()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Cr3(r);
        t.Read(A);
        t.Cr3(r);
        t.Read(A);
        var e = t.Run(new ShadowFlushEngine(Config()));

        // Second cr3 drops the one leaf (units 1) and the three lower shadow pages; the read rebuilds them.
        Assert.Equal(2, e.Count("cr3_flush"));
        Assert.Equal(1, e.Units("cr3_flush"));
        Assert.Equal(2, e.Count("shadow_fill"));
        Assert.Equal(6, e.Units("shadow_fill"));
        Assert.Equal(7, e.Stats.ShadowPagesCreated); // root + 3 + 3
        Assert.Equal(4, e.Stats.ShadowPagesPeak);
        Assert.Equal(10, e.Stats.WalkRefs);          // 5 per fill
    }

    [Fact]
    public void INVLPG_exits_and_drops_only_that_va()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, B, 0x101);
        t.Cr3(r);
        t.Read(A);
        t.Read(B);
        t.Invlpg(A);
        t.Read(B);
        t.Read(A);
        var e = t.Run(new ShadowFlushEngine(Config()));

        // read A: fill units 3, 5 refs. read B: PDE-cache hit, leaf missing (1 ref), fill units 0, restart
        //   hits the PDE cache (1 ref) -> 2 refs, 2 PSC hits. invlpg A: INVLPG exit, one entry dropped
        //   (units 1), TLB entry and PSC flushed. read B: TLB hit. read A: walk reads 4 levels to the missing
        //   leaf (4 refs), fill units 0, restart hits the PDE cache (1 ref).
        Assert.Equal(1, e.Count("invlpg"));
        Assert.Equal(1, e.Units("invlpg"));
        Assert.Equal(3, e.Count("shadow_fill"));
        Assert.Equal(3, e.Units("shadow_fill"));
        Assert.Equal(3, e.Stats.TlbMisses);
        Assert.Equal(12, e.Stats.WalkRefs);
        Assert.Equal(3, e.Stats.PscHits);
    }

    [Fact]
    public void Flush_1_drops_global_pages_too()
    {
        var t = GlobalTrace(out _);
        t.Flush(all: true);
        t.Read(K, user: false);
        var e = t.Run(new ShadowFlushEngine(Config()));

        // read K and read U fill 3 shadow pages each (separate PML4 subtrees); flush 1 -> CR_ACCESS/flush_all
        // dropping both entries (units 2); read K refills (3 pages again).
        Assert.Equal(1, e.Count("cr3_flush"));
        Assert.Equal(1, e.Count("flush_all"));
        Assert.Equal(2, e.Units("flush_all"));
        Assert.Equal(3, e.Count("shadow_fill"));
        Assert.Equal(9, e.Units("shadow_fill"));
    }

    [Fact]
    public void Keep_global_keeps_global_entries_across_a_CR3_load_but_not_across_flush_1()
    {
        var t = GlobalTrace(out ulong r);
        t.Cr3(r);
        t.Read(K, user: false); // global: kept in the shadow and in the TLB -> TLB hit, no exit
        t.Read(A);              // non-global: dropped -> refill (3 pages again)
        t.Flush(all: true);
        t.Read(K, user: false); // flush 1 dropped it -> refill

        // The same engine built directly and from the option as --engine gives it (its declared handle).
        foreach (var e in new IMmuEngine[] { new ShadowFlushEngine(Config(), keepGlobal: true), EngineRegistry.Parse("shadow-flush:keep_global=true").Create(Config()) })
        {
            t.Run(e);
            Assert.Equal(2, e.Count("cr3_flush"));
            Assert.Equal(1, e.Units("cr3_flush"));  // the second cr3 drops only A's entry
            Assert.Equal(4, e.Count("shadow_fill"));  // K, A, A again, K again
            Assert.Equal(12, e.Units("shadow_fill"));
            Assert.Equal(2, e.Units("flush_all"));
            Assert.Equal(4, e.Stats.TlbMisses);
        }
    }

    [Fact]
    public void With_PCID_native_keeps_a_PCIDs_translations_across_switches_but_shadow_flush_refills()
    {
        var t = new TestTrace();
        ulong r1 = t.NewRoot();
        ulong r2 = t.NewRoot();
        t.Map(r1, A, 0x100);
        t.Map(r2, Far, 0x200);
        t.Cr3(r1, pcid: 1);
        t.Read(A);
        t.Cr3(r2, pcid: 2);
        t.Read(Far);
        t.Cr3(r1, pcid: 1, noFlush: true);
        t.Read(A);
        var n = t.Run(new NativeEngine(Config(pcid: true)));
        var e = t.Run(new ShadowFlushEngine(Config(pcid: true)));

        // native: A misses, Far misses; switching back to PCID 1 with bit 63 keeps A's entry: a hit.
        Assert.Equal(2, n.Stats.TlbMisses);

        // shadow-flush: every CR3 load exits and empties the shadow, whatever the PCID: three fills.
        Assert.Equal(3, e.Count("cr3_flush"));
        Assert.Equal(2, e.Units("cr3_flush"));
        Assert.Equal(3, e.Count("shadow_fill"));
        Assert.Equal(3, e.Stats.TlbMisses);
    }

    [Fact]
    public void Without_bit_63_switching_back_to_a_PCID_drops_its_translations()
    {
        var t = new TestTrace();
        ulong r1 = t.NewRoot();
        ulong r2 = t.NewRoot();
        t.Map(r1, A, 0x100);
        t.Map(r2, Far, 0x200);
        t.Cr3(r1, pcid: 1);
        t.Read(A);
        t.Cr3(r2, pcid: 2);
        t.Read(Far);
        t.Cr3(r1, pcid: 1);
        t.Read(A);
        var n = t.Run(new NativeEngine(Config(pcid: true)));
        Assert.Equal(3, n.Stats.TlbMisses);
    }

    [Fact]
    public void Prefetch_fills_following_accessed_entries_with_the_fault()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        for (ulong i = 0; i < 3; i++)
        {
            t.Map(r, A + (i << 12), 0x100 + i, TestTrace.UserRw | Pte.Accessed);
        }

        t.Map(r, A + (3 << 12), 0x103); // never accessed by the guest: not prefetched
        t.Cr3(r);
        for (ulong i = 0; i < 4; i++)
        {
            t.Read(A + (i << 12));
        }

        // The fault on page 0 fills it and prefetches pages 1 and 2 (A set) but not page 3 (A clear):
        // reads of pages 1 and 2 find their shadow entries (no exit); page 3 faults. Built directly and from
        // the option as --engine gives it.
        foreach (var e in new IMmuEngine[] { new ShadowFlushEngine(Config(), prefetch: 3), EngineRegistry.Parse("shadow-flush:prefetch=3").Create(Config()) })
        {
            t.Run(e);
            Assert.Equal(2, e.Count("shadow_fill"));
            Assert.Equal(2, e.Counter("prefetched"));
            Assert.Equal(4, e.Stats.TlbMisses);
        }
    }

    [Fact]
    public void A_user_access_to_a_kernel_page_is_a_guest_fault_under_both_engines()
    {
        var t = GlobalTrace(out _);
        t.Read(K, user: true);
        var e = t.Run(new ShadowFlushEngine(Config()));
        var n = t.Run(new NativeEngine(Config()));
        Assert.Equal(1, e.Count("guest_pf_reflect"));
        Assert.Equal(1, e.Stats.GuestFaults);
        Assert.Equal(1, n.Stats.GuestFaults);
    }

    /// <summary>A root mapping user page A and a global kernel page K; cr3, read K (kernel), read A (user).</summary>
    private static TestTrace GlobalTrace(out ulong root)
    {
        var t = new TestTrace();
        root = t.NewRoot();
        t.Map(root, A, 0x100);
        t.Map(root, K, 0x300, TestTrace.KernelRwGlobal);
        t.Cr3(root);
        t.Read(K, user: false);
        t.Read(A);
        return t;
    }

    private static ulong LeafOf(ShadowFlushEngine e, ulong root, ulong va)
    {
        var w = PageWalker.Walk(e.Machine.Memory, root << 12, va, AccessKind.Read, false, 4, setAccessedDirty: false);
        return w.LeafPte;
    }
}
