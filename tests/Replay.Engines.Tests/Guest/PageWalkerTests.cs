using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.Tests.Guest;

/// <summary>
/// The IA-32e walk of Intel SDM Vol. 3 §4.5 (page sizes, reserved PS) and §4.6 (access rights with CR0.WP=1,
/// EFER.NXE=1, SMEP/SMAP off). Tables are built word by word in guest memory.
/// </summary>
public sealed class PageWalkerTests
{
    private const ulong P = Pte.Present;
    private const ulong Rw = Pte.Rw;
    private const ulong Us = Pte.Us;
    private const ulong Nx = Pte.Nx;
    private const ulong Prw = GuestPageTables.Prw;

    private static WalkResult Walk(GuestPageTables pt, ulong va, AccessKind kind, bool user, bool setAd = true) =>
        PageWalker.Walk(pt.Memory, pt.Root, va, kind, user, pt.Levels, setAd);

    // ---- page sizes -------------------------------------------------------------------------------------

    [Fact]
    public void A_4KiB_page_under_4_level_paging_takes_4_references_and_reaches_its_frame()
    {
        var pt = new GuestPageTables(levels: 4);
        ulong va = GuestPageTables.Va(1, 2, 3, 4, 0x567);
        pt.Map(va, 0x80_0000);

        var w = Walk(pt, va, AccessKind.Read, user: true);

        // PML4E, PDPTE, PDE, PTE: one reference each; the PTE maps the 4 KiB frame 0x800000.
        Assert.False(w.Fault);
        Assert.Equal(4, w.Refs);
        Assert.Equal(12, w.PageShift);
        Assert.Equal(1, w.LeafLevel);
        Assert.Equal(0x80_0000UL, w.PageBase);
        Assert.Equal(0x80_0000UL, w.FrameOf(va));
        Assert.Equal(pt.EntryAddr(va, 1), w.LeafPteAddr);
        Assert.False(w.PscHit);
    }

    [Fact]
    public void A_4KiB_page_under_5_level_paging_takes_5_references()
    {
        var pt = new GuestPageTables(levels: 5);
        ulong va = GuestPageTables.Va5(1, 1, 2, 3, 4, 0x567);
        pt.Map(va, 0x80_0000);

        var w = Walk(pt, va, AccessKind.Read, user: true);

        // PML5E, PML4E, PDPTE, PDE, PTE.
        Assert.False(w.Fault);
        Assert.Equal(5, w.Refs);
        Assert.Equal(0x80_0000UL, w.FrameOf(va));
    }

    [Fact]
    public void A_write_under_5_level_paging_sets_A_in_all_five_entries_read_with_A_clear_and_D_in_the_PTE()
    {
        var pt = new GuestPageTables(levels: 5);
        ulong va = GuestPageTables.Va5(1, 1, 2, 3, 4);
        pt.Map(va, 0x80_0000); // every entry without A
        ulong other = GuestPageTables.Va5(1, 1, 2, 3, 5);
        pt.Map(other, 0x80_1000);

        var w = Walk(pt, va, AccessKind.Write, user: true);

        Assert.False(w.Fault);
        Assert.True(w.Dirty);
        for (int level = 5; level >= 1; level--)
        {
            Assert.Equal(GuestPageTables.Prw | Pte.Accessed | (level == 1 ? Pte.Dirty : 0), pt.Entry(va, level) & 0xFFF);
        }

        // The upper four entries now have A; a read of the neighbouring page sets A in its PTE only, D nowhere.
        var r = Walk(pt, other, AccessKind.Read, user: true);
        Assert.False(r.Dirty);
        Assert.Equal(GuestPageTables.Prw | Pte.Accessed, pt.Entry(other, 1) & 0xFFF);
        Assert.Equal(GuestPageTables.Prw | Pte.Accessed | Pte.Dirty, pt.Entry(va, 1) & 0xFFF);
    }

    [Fact]
    public void A_2MiB_page_is_a_PDE_with_PS_reached_after_3_references()
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(1, 2, 3, 0x1AB, 0x567);
        pt.Map(va, 0x4000_0000, leafLevel: 2);

        var w = Walk(pt, va, AccessKind.Read, user: true);

        // PML4E, PDPTE, PDE(PS=1). The va's offset in the 2 MiB page is bits 20:0 = 0x1AB567, so its 4 KiB frame
        // is 0x4000_0000 + 0x1AB000.
        Assert.False(w.Fault);
        Assert.Equal(3, w.Refs);
        Assert.Equal(21, w.PageShift);
        Assert.Equal(2, w.LeafLevel);
        Assert.Equal(0x4000_0000UL, w.PageBase);
        Assert.Equal(0x401A_B000UL, w.FrameOf(va));
    }

    [Fact]
    public void A_1GiB_page_is_a_PDPTE_with_PS_reached_after_2_references()
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(1, 2, 0x55, 0x1AB, 0x567);
        pt.Map(va, 0x8000_0000, leafLevel: 3);

        var w = Walk(pt, va, AccessKind.Read, user: true);

        // PML4E, PDPTE(PS=1). Offset in the 1 GiB page = bits 29:0 = (0x55 << 21) | (0x1AB << 12) | 0x567
        // = 0xAA0_0000 + 0x1A_B000 + 0x567 = 0xABA_B567, so the 4 KiB frame is 0x8000_0000 + 0xABA_B000.
        Assert.False(w.Fault);
        Assert.Equal(2, w.Refs);
        Assert.Equal(30, w.PageShift);
        Assert.Equal(3, w.LeafLevel);
        Assert.Equal(0x8000_0000UL, w.PageBase);
        Assert.Equal(0x8ABA_B000UL, w.FrameOf(va));
    }

    [Theory]
    [InlineData(4, 1, 4)]
    [InlineData(4, 2, 3)]
    [InlineData(4, 3, 2)]
    [InlineData(5, 1, 5)]
    [InlineData(5, 2, 4)]
    [InlineData(5, 3, 3)]
    public void A_walk_reads_one_entry_per_level_from_the_root_down_to_the_leaf(int levels, int leafLevel, int refs)
    {
        // refs = levels - leafLevel + 1.
        var pt = new GuestPageTables(levels);
        ulong va = GuestPageTables.Va5(0, 1, 2, 3, 4);
        pt.Map(va, 0x8000_0000, leafLevel);

        var w = Walk(pt, va, AccessKind.Read, user: true);

        Assert.False(w.Fault);
        Assert.Equal(refs, w.Refs);
        Assert.Equal(leafLevel, w.LeafLevel);
    }

    [Fact]
    public void Bit_12_of_a_2MiB_PDE_is_PAT_not_part_of_the_page_address()
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(0, 0, 1, 7);
        pt.Map(va, 0x4000_0000, leafLevel: 2, leafFlags: Prw | (1UL << 12));

        var w = Walk(pt, va, AccessKind.Read, user: true);

        // Bits 51:21 give the 2 MiB page; bit 12 selects the memory type.
        Assert.Equal(0x4000_0000UL, w.PageBase);
        Assert.Equal(0x4000_7000UL, w.FrameOf(va));
    }

    [Fact]
    public void PS_in_a_PML4E_is_reserved_so_the_walk_faults_after_reading_it()
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(1, 0, 0, 0);
        pt.Memory.WriteWord(pt.Root + (1 << 3), 0x8000_0000UL | Prw | Pte.Ps);

        var w = Walk(pt, va, AccessKind.Read, user: false);

        Assert.True(w.Fault);
        Assert.Equal(1, w.Refs);
    }

    [Fact]
    public void PS_in_a_PML5E_or_a_PML4E_under_5_level_paging_faults()
    {
        var pt = new GuestPageTables(levels: 5);
        ulong va = GuestPageTables.Va5(1, 1, 0, 0, 0);
        pt.Map(va, 0x80_0000);
        pt.Set(va, 4, Pte.Ps);

        var pml4 = Walk(pt, va, AccessKind.Read, user: false);
        Assert.True(pml4.Fault);
        Assert.Equal(2, pml4.Refs);

        pt.Set(va, 5, Pte.Ps);
        var w = Walk(pt, va, AccessKind.Read, user: false);
        Assert.True(w.Fault);
        Assert.Equal(1, w.Refs);
    }

    // ---- permissions ------------------------------------------------------------------------------------

    [Theory]
    [InlineData(4, 4, 1)]
    [InlineData(4, 3, 2)]
    [InlineData(4, 2, 3)]
    [InlineData(4, 1, 4)]
    [InlineData(5, 5, 1)]
    [InlineData(5, 1, 5)]
    public void A_not_present_entry_faults_after_reading_every_level_down_to_it(int levels, int notPresentLevel, int refs)
    {
        var pt = new GuestPageTables(levels);
        ulong va = GuestPageTables.Va5(0, 1, 2, 3, 4);
        pt.Map(va, 0x80_0000);
        pt.Clear(va, notPresentLevel, P);

        var w = Walk(pt, va, AccessKind.Read, user: false);

        // Entries above the not-present one were read, and the not-present one itself.
        Assert.True(w.Fault);
        Assert.Equal(refs, w.Refs);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(3)]
    [InlineData(2)]
    [InlineData(1)]
    public void RW_clear_at_any_level_makes_writes_fault_for_user_and_supervisor_but_reads_succeed(int level)
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(1, 2, 3, 4);
        pt.Map(va, 0x80_0000);
        pt.Clear(va, level, Rw);

        // CR0.WP=1: supervisor writes honour RW too (SDM §4.6.1).
        Assert.True(Walk(pt, va, AccessKind.Write, user: true).Fault);
        Assert.True(Walk(pt, va, AccessKind.Write, user: false).Fault);

        var userRead = Walk(pt, va, AccessKind.Read, user: true);
        Assert.False(userRead.Fault);
        Assert.Equal(Perms.User | Perms.Exec, userRead.Perms);
        Assert.False(Walk(pt, va, AccessKind.Read, user: false).Fault);
        Assert.False(Walk(pt, va, AccessKind.Fetch, user: false).Fault);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(3)]
    [InlineData(2)]
    [InlineData(1)]
    public void US_clear_at_any_level_makes_user_accesses_fault_but_supervisor_accesses_succeed(int level)
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(1, 2, 3, 4);
        pt.Map(va, 0x80_0000);
        pt.Clear(va, level, Us);

        Assert.True(Walk(pt, va, AccessKind.Read, user: true).Fault);
        Assert.True(Walk(pt, va, AccessKind.Write, user: true).Fault);
        Assert.True(Walk(pt, va, AccessKind.Fetch, user: true).Fault);

        var w = Walk(pt, va, AccessKind.Write, user: false);
        Assert.False(w.Fault);
        Assert.Equal(Perms.Write | Perms.Exec, w.Perms);
        Assert.False(Walk(pt, va, AccessKind.Fetch, user: false).Fault);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(3)]
    [InlineData(2)]
    [InlineData(1)]
    public void NX_at_any_level_makes_fetches_fault_but_reads_and_writes_succeed(int level)
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(1, 2, 3, 4);
        pt.Map(va, 0x80_0000);
        pt.Set(va, level, Nx);

        // EFER.NXE=1: XD=1 anywhere on the path forbids instruction fetches, for every privilege.
        Assert.True(Walk(pt, va, AccessKind.Fetch, user: true).Fault);
        Assert.True(Walk(pt, va, AccessKind.Fetch, user: false).Fault);

        var w = Walk(pt, va, AccessKind.Read, user: true);
        Assert.False(w.Fault);
        Assert.Equal(Perms.Write | Perms.User, w.Perms);
        Assert.False(Walk(pt, va, AccessKind.Write, user: true).Fault);
    }

    [Fact]
    public void The_supervisor_may_read_write_and_fetch_a_user_page_with_SMEP_and_SMAP_off()
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(1, 2, 3, 4);
        pt.Map(va, 0x80_0000);

        Assert.False(Walk(pt, va, AccessKind.Read, user: false).Fault);
        Assert.False(Walk(pt, va, AccessKind.Write, user: false).Fault);
        var fetch = Walk(pt, va, AccessKind.Fetch, user: false);
        Assert.False(fetch.Fault);
        Assert.Equal(Perms.Write | Perms.User | Perms.Exec, fetch.Perms);
    }

    [Theory]
    // Write only if RW at every level, User only if US at every level, Exec unless XD at some level.
    [InlineData(Prw, Prw, Prw, Prw, Perms.Write | Perms.User | Perms.Exec)]
    [InlineData(Prw, P | Rw, Prw, Prw | Nx, Perms.Write)]
    [InlineData(P | Us, Prw, Prw, Prw, Perms.User | Perms.Exec)]
    [InlineData(Prw, Prw, Prw | Nx, P, Perms.None)]
    [InlineData(P | Rw, P | Us, Prw, Prw, Perms.Exec)]
    [InlineData(Prw | Nx, Prw, Prw, Prw, Perms.Write | Perms.User)]
    public void Effective_permissions_combine_every_level(ulong pml4e, ulong pdpte, ulong pde, ulong pte, Perms expected)
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(1, 2, 3, 4);
        pt.Map(va, 0x80_0000);
        pt.SetEntry(va, 4, (pt.Entry(va, 4) & Pte.AddrMask) | pml4e);
        pt.SetEntry(va, 3, (pt.Entry(va, 3) & Pte.AddrMask) | pdpte);
        pt.SetEntry(va, 2, (pt.Entry(va, 2) & Pte.AddrMask) | pde);
        pt.SetEntry(va, 1, (pt.Entry(va, 1) & Pte.AddrMask) | pte);

        // A supervisor read is allowed by every combination, so the walk completes and reports the combination.
        var w = Walk(pt, va, AccessKind.Read, user: false);

        Assert.False(w.Fault);
        Assert.Equal(expected, w.Perms);
    }

    [Fact]
    public void The_global_bit_of_the_leaf_is_reported()
    {
        var pt = new GuestPageTables();
        ulong va = GuestPageTables.Va(511, 0, 0, 3);
        pt.Map(va, 0x80_0000, leafFlags: P | Rw | Pte.Global);
        ulong other = GuestPageTables.Va(511, 0, 0, 4);
        pt.Map(other, 0x80_1000, leafFlags: P | Rw);

        Assert.True(Walk(pt, va, AccessKind.Read, user: false).Global);
        Assert.False(Walk(pt, other, AccessKind.Read, user: false).Global);
    }
}
