using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Native;
using Replay.Engines.Paging;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Guest;

/// <summary>
/// What the processor does with its own TLB and paging-structure caches (SDM Vol. 3 §4.10.4): CR3 loads with
/// and without PCID, INVLPG, flushes, D-bit re-walks; observed through the native engine's counters. The
/// default geometry (Skylake-like) has PML4E/PDPTE/PDE caches of 2/4/32 entries.
/// </summary>
public sealed class HardwareMmuTests
{
    private const ulong P = Pte.Present;
    private const ulong Rw = Pte.Rw;
    private const ulong Us = Pte.Us;
    private const ulong G = Pte.Global;
    private const ulong Bit63 = Pte.Cr3NoFlush;
    private const Perms All = Perms.Write | Perms.User | Perms.Exec;

    // User pages U1, U2 share a page table; the kernel page K is global and sits in the top 512 GiB
    // (PML4 index 511), so no paging-structure cache entry is shared between U and K.
    private static readonly ulong U1 = GuestPageTables.Va(0, 0, 0, 1);
    private static readonly ulong U2 = GuestPageTables.Va(0, 0, 0, 2);
    private static readonly ulong K = GuestPageTables.Va(511, 0, 0, 0);

    private sealed class Rig
    {
        public Rig(bool pcid = false, TlbGeometry? geometry = null)
        {
            Engine = new NativeEngine(new MachineConfig(1, 4UL << 30, 4, pcid, geometry ?? TlbGeometry.Default));
            Pt = new GuestPageTables(4, Engine.Machine.Memory);
            Pt.Map(U1, 0x80_1000);
            Pt.Map(U2, 0x80_2000);
            Pt.Map(K, 0x90_0000, leafFlags: P | Rw | G, upperFlags: P | Rw);
        }

        public NativeEngine Engine { get; }

        public GuestPageTables Pt { get; }

        public EngineStats Stats => Engine.Stats;

        public long PermissionRewalks => Engine.Stats.Counters[Engine.CounterNames.ToList().IndexOf("tlb_permission_rewalks")];

        public Translation Read(ulong va, bool user = true) => Access(va, AccessKind.Read, user);

        public Translation Write(ulong va, bool user = true) => Access(va, AccessKind.Write, user);

        public Translation Access(ulong va, AccessKind kind, bool user)
        {
            var a = new MemoryAccess(0, 0, va, kind, user);
            var t = Engine.Access(a);

            // Every translation handed out must be what a fresh walk of the current tables gives (--verify).
            Assert.Equal(PageWalker.Reference(Pt.Memory, Engine.Machine.Vcpus[0].Cr3, va, kind, user, 4), t);
            return t;
        }

        public void Cr3(ulong value) => Engine.LoadCr3(new Cr3Load(0, 0, value));

        public void Invlpg(ulong va) => Engine.Invalidate(new Invalidation(0, 0, va, InvalidationKind.Page));

        public void Flush(InvalidationKind kind) => Engine.Invalidate(new Invalidation(0, 0, 0, kind));

        public void PtWrite(ulong pa, ulong value, int width = 8) =>
            Engine.WritePageTable(new PageTableWrite(0, 0, pa, value, 0, width, false, false));

        public void AssertCounts(long tlbMisses, long walkRefs, long pscHits, long guestFaults = 0)
        {
            Assert.Equal(tlbMisses, Stats.TlbMisses);
            Assert.Equal(walkRefs, Stats.WalkRefs);
            Assert.Equal(pscHits, Stats.PscHits);
            Assert.Equal(guestFaults, Stats.GuestFaults);
        }
    }

    [Fact]
    public void A_first_access_walks_all_four_levels_and_a_repeat_hits_the_TLB()
    {
        var r = new Rig();
        r.Cr3(r.Pt.Root);

        Assert.Equal(new Translation(0x80_1000, All, false), r.Read(U1));
        r.AssertCounts(tlbMisses: 1, walkRefs: 4, pscHits: 0);

        r.Read(U1 + 0x800);
        r.Write(U1 + 8, user: false);
        // The write found a clean TLB entry: a re-walk (see the D-bit test); the read before it was a hit.
        r.AssertCounts(tlbMisses: 2, walkRefs: 5, pscHits: 1);
    }

    [Fact]
    public void A_neighbouring_4KiB_page_misses_the_TLB_but_its_walk_starts_from_the_PDE_cache()
    {
        var r = new Rig();
        r.Cr3(r.Pt.Root);

        r.Read(U1);
        Assert.Equal(new Translation(0x80_2000, All, false), r.Read(U2));

        // 4 refs for U1; U2's walk reads only its PTE.
        r.AssertCounts(tlbMisses: 2, walkRefs: 5, pscHits: 1);
    }

    [Fact]
    public void An_unmapped_va_is_a_guest_fault_after_reading_the_not_present_PML4E()
    {
        var r = new Rig();
        r.Cr3(r.Pt.Root);

        Assert.Equal(Translation.GuestFault, r.Read(GuestPageTables.Va(3, 0, 0, 0)));
        r.AssertCounts(tlbMisses: 1, walkRefs: 1, pscHits: 0, guestFaults: 1);
    }

    [Fact]
    public void A_CR3_load_without_PCID_drops_non_global_entries_but_a_global_kernel_page_still_hits()
    {
        var r = new Rig();
        r.Cr3(r.Pt.Root);
        r.Read(K, user: false);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 2, walkRefs: 8, pscHits: 0);

        r.Cr3(r.Pt.Root);

        // K: TLB hit. U1: a miss, and the walk reads all 4 levels (the PSCs were flushed too).
        Assert.Equal(new Translation(0x90_0000, Perms.Write | Perms.Exec, false), r.Read(K, user: false));
        r.AssertCounts(tlbMisses: 2, walkRefs: 8, pscHits: 0);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 3, walkRefs: 12, pscHits: 0);
    }

    [Fact]
    public void With_PCID_a_CR3_load_with_bit_63_keeps_the_PCIDs_entries_and_without_it_drops_them()
    {
        var r = new Rig(pcid: true);
        r.Cr3(r.Pt.Root | 1);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 1, walkRefs: 4, pscHits: 0);

        r.Cr3(r.Pt.Root | 1 | Bit63);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 1, walkRefs: 4, pscHits: 0);

        r.Cr3(r.Pt.Root | 1);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 2, walkRefs: 8, pscHits: 0);
    }

    [Fact]
    public void With_PCID_switching_to_another_PCID_and_back_with_bit_63_finds_the_first_PCIDs_entries()
    {
        var r = new Rig(pcid: true);
        r.Cr3(r.Pt.Root | 1);
        r.Read(U1);

        // PCID 2 has nothing cached, TLB or PSC: a full walk.
        r.Cr3(r.Pt.Root | 2);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 2, walkRefs: 8, pscHits: 0);

        // Back to PCID 1 without flushing: U1 hits, and U2's walk uses PCID 1's PDE-cache entry.
        r.Cr3(r.Pt.Root | 1 | Bit63);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 2, walkRefs: 8, pscHits: 0);
        r.Read(U2);
        r.AssertCounts(tlbMisses: 3, walkRefs: 9, pscHits: 1);

        // And PCID 2's entry survived the switch too.
        r.Cr3(r.Pt.Root | 2 | Bit63);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 3, walkRefs: 9, pscHits: 1);
        Assert.Equal((ushort)2, r.Engine.Machine.Vcpus[0].Pcid);
        Assert.Equal(r.Pt.Root, r.Engine.Machine.Vcpus[0].Cr3);
    }

    [Fact]
    public void With_PCID_a_global_page_cached_under_one_PCID_hits_under_another()
    {
        var r = new Rig(pcid: true);
        r.Cr3(r.Pt.Root | 1);
        r.Read(K, user: false);

        r.Cr3(r.Pt.Root | 2);
        r.Read(K, user: false);

        r.AssertCounts(tlbMisses: 1, walkRefs: 4, pscHits: 0);
    }

    [Fact]
    public void INVLPG_drops_one_va_and_the_current_PCIDs_paging_structure_caches()
    {
        var r = new Rig();
        r.Cr3(r.Pt.Root);
        r.Read(U1);
        r.Read(U2);
        r.AssertCounts(tlbMisses: 2, walkRefs: 5, pscHits: 1);

        r.Invlpg(U1 + 0x123);

        r.Read(U2); // still cached
        r.AssertCounts(tlbMisses: 2, walkRefs: 5, pscHits: 1);
        r.Read(U1); // a miss whose walk reads all 4 levels
        r.AssertCounts(tlbMisses: 3, walkRefs: 9, pscHits: 1);
    }

    [Fact]
    public void INVLPG_drops_a_global_entry_for_the_va_whatever_PCID_cached_it()
    {
        var r = new Rig(pcid: true);
        r.Cr3(r.Pt.Root | 1);
        r.Read(K, user: false);
        r.Cr3(r.Pt.Root | 2);

        r.Invlpg(K);
        r.Read(K, user: false);

        r.AssertCounts(tlbMisses: 2, walkRefs: 8, pscHits: 0);
    }

    [Fact]
    public void Flush_0_keeps_global_entries_and_flush_1_drops_them_too()
    {
        var r = new Rig();
        r.Cr3(r.Pt.Root);
        r.Read(K, user: false);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 2, walkRefs: 8, pscHits: 0);

        r.Flush(InvalidationKind.NonGlobal);
        r.Read(K, user: false); // hit
        r.Read(U1); // miss, full walk
        r.AssertCounts(tlbMisses: 3, walkRefs: 12, pscHits: 0);

        r.Flush(InvalidationKind.All);
        r.Read(K, user: false);
        r.Read(U1);
        r.AssertCounts(tlbMisses: 5, walkRefs: 20, pscHits: 0);
    }

    [Fact]
    public void A_write_through_a_clean_TLB_entry_rewalks_and_sets_D_in_the_guest_PTE()
    {
        var r = new Rig();
        r.Cr3(r.Pt.Root);
        r.Read(U1);
        Assert.Equal(Pte.Accessed, r.Pt.Entry(U1, 1) & (Pte.Accessed | Pte.Dirty));

        // The TLB entry says D=0, so the processor walks again to set D (SDM §4.8); that walk starts at the PT.
        Assert.Equal(new Translation(0x80_1000, All, false), r.Write(U1));
        Assert.Equal(Pte.Accessed | Pte.Dirty, r.Pt.Entry(U1, 1) & (Pte.Accessed | Pte.Dirty));
        r.AssertCounts(tlbMisses: 2, walkRefs: 5, pscHits: 1);
        Assert.Equal(1, r.PermissionRewalks);

        // The refilled entry is dirty: further writes hit.
        r.Write(U1);
        r.AssertCounts(tlbMisses: 2, walkRefs: 5, pscHits: 1);
        Assert.Equal(1, r.PermissionRewalks);
    }

    [Fact]
    public void A_first_write_walks_once_and_leaves_a_dirty_entry()
    {
        var r = new Rig();
        r.Cr3(r.Pt.Root);

        r.Write(U1);
        r.Write(U1);
        r.Read(U1);

        r.AssertCounts(tlbMisses: 1, walkRefs: 4, pscHits: 0);
        Assert.Equal(0, r.PermissionRewalks);
        Assert.Equal(Pte.Dirty, r.Pt.Entry(U1, 1) & Pte.Dirty);
    }

    [Fact]
    public void A_stale_read_only_entry_whose_PTE_became_writable_is_rewalked_on_write_instead_of_faulting()
    {
        var r = new Rig();
        r.Pt.SetEntry(U1, 1, 0x80_1000 | P | Us); // read-only
        r.Cr3(r.Pt.Root);
        Assert.Equal(new Translation(0x80_1000, Perms.User | Perms.Exec, false), r.Read(U1));

        // Making a page writable widens the translation: no INVLPG is required (SDM §4.10.4.3).
        r.PtWrite(r.Pt.EntryAddr(U1, 1), 0x80_1000 | P | Rw | Us | Pte.Accessed);

        Assert.Equal(new Translation(0x80_1000, All, false), r.Write(U1));
        r.AssertCounts(tlbMisses: 2, walkRefs: 5, pscHits: 1, guestFaults: 0);
        Assert.Equal(1, r.PermissionRewalks);
        Assert.Equal(Pte.Dirty, r.Pt.Entry(U1, 1) & Pte.Dirty);
    }

    [Fact]
    public void A_write_to_a_read_only_page_rewalks_then_faults_and_sets_no_D()
    {
        var r = new Rig();
        r.Pt.SetEntry(U1, 1, 0x80_1000 | P | Us);
        r.Cr3(r.Pt.Root);
        r.Read(U1);

        Assert.Equal(Translation.GuestFault, r.Write(U1));

        r.AssertCounts(tlbMisses: 2, walkRefs: 5, pscHits: 1, guestFaults: 1);
        Assert.Equal(1, r.PermissionRewalks);
        Assert.Equal(0UL, r.Pt.Entry(U1, 1) & Pte.Dirty);
    }

    [Fact]
    public void A_guest_fault_drops_the_paging_structure_cache_entries_for_its_va_so_the_retry_walks_every_level()
    {
        // U3's PTE is not present; its PML4E, PDPTE and PDE are.
        var r = new Rig();
        ulong u3 = GuestPageTables.Va(0, 0, 5, 3);
        r.Pt.Map(u3, 0x80_3000);
        r.Pt.Clear(u3, 1, P);
        r.Cr3(r.Pt.Root);
        Assert.Equal(Translation.GuestFault, r.Read(u3));
        r.AssertCounts(tlbMisses: 1, walkRefs: 4, pscHits: 0, guestFaults: 1);

        // The guest maps the page (not-present -> present needs no invalidation) and retries. SDM §4.10.4.1:
        // the #PF "will invalidate any PML4-cache, PDPTE-cache, and PDE-cache entries that would be used for
        // that linear address", so the retry's walk starts at the root: 4 more references, no PSC hit.
        r.PtWrite(r.Pt.EntryAddr(u3, 1), 0x80_3000 | GuestPageTables.Prw);

        Assert.Equal(new Translation(0x80_3000, All, false), r.Read(u3));
        r.AssertCounts(tlbMisses: 2, walkRefs: 8, pscHits: 0, guestFaults: 1);
    }

    [Fact]
    public void A_user_access_to_a_cached_supervisor_page_faults()
    {
        var r = new Rig();
        r.Cr3(r.Pt.Root);
        r.Read(K, user: false);

        Assert.Equal(Translation.GuestFault, r.Read(K, user: true));

        // The TLB entry does not allow user access: it is dropped and the re-walk (from the PDE cache) faults.
        r.AssertCounts(tlbMisses: 2, walkRefs: 5, pscHits: 1, guestFaults: 1);
        Assert.Equal(1, r.PermissionRewalks);
    }

    [Fact]
    public void A_PDE_made_writable_without_INVLPG_is_honoured_by_the_next_walk_in_its_region()
    {
        // The PDE is read-only, the PTEs writable: the U1 walk caches the PDE with RW=0 accumulated.
        var r = new Rig();
        r.Pt.Clear(U1, 2, Rw);
        r.Cr3(r.Pt.Root);
        Assert.Equal(new Translation(0x80_1000, Perms.User | Perms.Exec, false), r.Read(U1));

        // Setting RW in the PDE widens the translations under it, which needs no invalidation (SDM §4.10.4.3;
        // SPEC §1 only requires one after a removal or narrowing). A stale PDE-cache entry may cause a spurious
        // #PF on hardware, but that #PF invalidates the entry and the access is retried (SDM §4.10.4.1), so the
        // access succeeds with the translation a fresh walk gives.
        r.PtWrite(r.Pt.EntryAddr(U1, 2), r.Pt.Entry(U1, 2) | Rw);

        Assert.Equal(new Translation(0x80_2000, All, false), r.Write(U2));
        Assert.Equal(0, r.Stats.GuestFaults);
    }

    [Fact]
    public void A_PDE_repointed_from_an_empty_page_table_is_honoured_by_the_next_walk_in_its_region()
    {
        // U3's PDE points at a page table with no present entry; the faulting walk still caches the PDE.
        var r = new Rig();
        ulong u3 = GuestPageTables.Va(0, 0, 5, 3);
        r.Pt.Map(u3, 0x80_3000);
        r.Pt.Clear(u3, 1, P);
        r.Cr3(r.Pt.Root);
        Assert.Equal(Translation.GuestFault, r.Read(u3));

        // The guest points the PDE at another page table that maps u3. No present translation was removed or
        // narrowed, so SPEC §1 asks for no invalidation; the access must use what the tables now say.
        const ulong newTable = 0x1F_0000;
        r.PtWrite(newTable + (3 << 3), 0x80_3000 | GuestPageTables.Prw);
        r.PtWrite(r.Pt.EntryAddr(u3, 2), newTable | GuestPageTables.Prw);

        Assert.Equal(new Translation(0x80_3000, All, false), r.Read(u3));
    }

    [Fact]
    public void INVLPG_of_a_2MiB_pages_base_drops_the_4KiB_pieces_a_fracturing_TLB_cached_for_it()
    {
        // No 2 MiB arrays anywhere: a 2 MiB page is cached as 4 KiB pieces.
        var g = new TlbGeometry { L1d4K = new(64, 4), L1i4K = new(64, 4), Stlb = new(512, 4) };
        var r = new Rig(geometry: g);
        ulong va0 = GuestPageTables.Va(0, 0, 1, 0), va1 = GuestPageTables.Va(0, 0, 1, 1);
        r.Pt.Map(va0, 0x4000_0000, leafLevel: 2);
        r.Cr3(r.Pt.Root);
        r.Read(va0);
        r.Read(va1);
        r.AssertCounts(tlbMisses: 2, walkRefs: 6, pscHits: 0);

        // The guest moves the 2 MiB page and invalidates it with one INVLPG, which SDM §4.10.4.2 says suffices.
        r.PtWrite(r.Pt.EntryAddr(va0, 2), 0x4020_0000 | GuestPageTables.Prw | Pte.Ps);
        r.Invlpg(va0);

        Assert.Equal(new Translation(0x4020_1000, All, false), r.Read(va1));
    }

    [Fact]
    public void Stlb_hits_of_every_vcpu_add_up_on_the_machine()
    {
        var g = new TlbGeometry { L1d4K = new(1, 1), Stlb = new(16, 4) };
        var r = new Rig(geometry: g);
        r.Cr3(r.Pt.Root);
        r.Read(U1);
        r.Read(U2); // pushes U1 out of the one-entry L1

        r.Read(U1);

        Assert.Equal(1, r.Engine.Machine.StlbHits);
        r.AssertCounts(tlbMisses: 2, walkRefs: 8, pscHits: 0);
    }
}
