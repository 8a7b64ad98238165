using Replay.Engines.Contract;
using Replay.Engines.Paging;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Tlb;

/// <summary>
/// A vCPU's TLB hierarchy: first-level data/instruction arrays per page size, a unified STLB behind them, and
/// fracturing of a page into a smaller size when a level has no array for its size (SDM Vol. 3 §4.10.2.3).
/// </summary>
public sealed class VcpuTlbTests
{
    private const Perms All = Perms.Write | Perms.User | Perms.Exec;

    // A 2 MiB-aligned va region and the 2 MiB guest-physical page it maps to.
    private const ulong Region = 0x0060_0000;
    private const ulong Page2M = 0x4000_0000;

    private static void Insert(VcpuTlb t, ulong va, int shift, ulong pageBase, AccessKind kind = AccessKind.Read, ushort pcid = 0, bool global = false) =>
        t.Insert(va, pcid, kind, shift, pageBase, All, All, dirty: false, global);

    private static ulong? FrameOf(VcpuTlb t, ulong va, AccessKind kind = AccessKind.Read, ushort pcid = 0) =>
        t.Lookup(va, pcid, kind, out var hit) ? hit.Frame : null;

    [Fact]
    public void An_L1_miss_that_hits_the_STLB_counts_an_STLB_hit_and_refills_L1()
    {
        // A one-entry L1: inserting a second page pushes the first out of L1 but not out of the STLB.
        var t = new VcpuTlb(new TlbGeometry { L1d4K = new(1, 1), Stlb = new(16, 4) });
        Insert(t, 0xA000, 12, 0x7_A000);
        Insert(t, 0xB000, 12, 0x7_B000);

        Assert.Equal(0x7_A000UL, FrameOf(t, 0xA123));
        Assert.Equal(1, t.StlbHits);

        // Refilled: the next lookup is an L1 hit.
        Assert.Equal(0x7_A000UL, FrameOf(t, 0xA000));
        Assert.Equal(1, t.StlbHits);

        // 0xB000 was pushed out of L1 by the refill.
        Assert.Equal(0x7_B000UL, FrameOf(t, 0xB000));
        Assert.Equal(2, t.StlbHits);
    }

    [Fact]
    public void A_2MiB_entry_in_a_shared_STLB_serves_a_miss_in_L1_until_INVLPG_drops_it()
    {
        // One-entry L1 arrays; an STLB of 4 KiB and 2 MiB entries (Haswell to Skylake). The 4 KiB page at 0xA000 is
        // cached first, so the STLB has held a 4 KiB entry before it holds its first 2 MiB one.
        var t = new VcpuTlb(new TlbGeometry { L1d4K = new(1, 1), L1d2M = new(1, 1), Stlb = new(16, 4), Stlb2M = true });
        Insert(t, 0xA000, 12, 0x7_A000);
        Assert.Null(FrameOf(t, Region + 0x5000)); // no 2 MiB entry yet, at any level
        Insert(t, Region, 21, Page2M);
        Insert(t, Region + (2 << 20), 21, Page2M + (2 << 20)); // pushes the first 2 MiB page out of L1d2M, not out of the STLB

        Assert.Equal(Page2M + 0x5000, FrameOf(t, Region + 0x5123)); // from the STLB's 2 MiB entry
        Assert.Equal(1, t.StlbHits);
        Assert.Equal(0x7_A000UL, FrameOf(t, 0xA000));               // the 4 KiB entry, from L1
        Assert.Equal(1, t.StlbHits);

        t.InvalidatePage(Region + 0x1F_F000, 0);                   // any va in the 2 MiB page drops it from both levels
        Assert.Null(FrameOf(t, Region));
        Assert.Equal(Page2M + (2 << 20) + 0x1000, FrameOf(t, Region + (2 << 20) + 0x1000));
    }

    [Fact]
    public void A_miss_in_both_levels_is_a_miss()
    {
        var t = new VcpuTlb(TlbGeometry.Default);
        Insert(t, 0xA000, 12, 0x7_A000);

        Assert.Null(FrameOf(t, 0xC000));
        Assert.Equal(0, t.StlbHits);
    }

    [Fact]
    public void With_a_4KiB_only_STLB_a_2MiB_translation_is_cached_in_L1d2M_only()
    {
        // Nehalem-like: the STLB holds 4 KiB entries only.
        var t = new VcpuTlb(new TlbGeometry
        {
            L1d4K = new(64, 4), L1d2M = new(1, 1), L1i4K = new(128, 4), Stlb = new(512, 4), Stlb2M = false,
        });
        Insert(t, Region + 0x3000, 21, Page2M);

        // Any 4 KiB page of the 2 MiB page hits L1d2M.
        Assert.Equal(Page2M + 0x5000, FrameOf(t, Region + 0x5000));

        // Another 2 MiB page takes the single L1d2M entry; the first one was nowhere else.
        Insert(t, Region + 0x20_0000, 21, Page2M + 0x20_0000);

        Assert.Null(FrameOf(t, Region + 0x3000));
        Assert.Equal(0, t.StlbHits);
    }

    [Fact]
    public void Without_L1d2M_a_2MiB_translation_is_fractured_into_a_4KiB_L1_entry()
    {
        var t = new VcpuTlb(new TlbGeometry { L1d4K = new(64, 4), Stlb = new(512, 4), Stlb2M = true });
        Insert(t, Region + 0x3000, 21, Page2M);

        // L1 holds only the 4 KiB piece around the va that missed.
        Assert.Equal(Page2M + 0x3000, FrameOf(t, Region + 0x3FFF));
        Assert.Equal(0, t.StlbHits);

        // Another 4 KiB page of the same 2 MiB page misses L1 and is served by the STLB's 2 MiB entry.
        Assert.Equal(Page2M + 0x4000, FrameOf(t, Region + 0x4000));
        Assert.Equal(1, t.StlbHits);
        Assert.Equal(Page2M + 0x4000, FrameOf(t, Region + 0x4000));
        Assert.Equal(1, t.StlbHits);
    }

    [Fact]
    public void Without_L1d2M_or_an_STLB_another_4KiB_page_of_a_fractured_2MiB_page_misses()
    {
        var t = new VcpuTlb(new TlbGeometry { L1d4K = new(64, 4) });
        Insert(t, Region + 0x3000, 21, Page2M);

        Assert.Equal(Page2M + 0x3000, FrameOf(t, Region + 0x3000));
        Assert.Null(FrameOf(t, Region + 0x4000));
    }

    [Fact]
    public void A_1GiB_page_is_fractured_to_2MiB_in_L1_and_in_an_STLB_without_1GiB_entries()
    {
        var t = new VcpuTlb(new TlbGeometry
        {
            L1d4K = new(64, 4), L1d2M = new(32, 4), Stlb = new(512, 4), Stlb2M = true, Stlb1G = false,
        });
        const ulong va = 0x4000_0000 + 0x60_3000; // 2 MiB region 3 of the 1 GiB region at 1 GiB
        Insert(t, va, 30, 0x8000_0000);

        // Region 3's piece: 0x8000_0000 + 0x60_0000, plus the 4 KiB offset 0x3000.
        Assert.Equal(0x8060_3000UL, FrameOf(t, va));

        // Another 2 MiB region of the same 1 GiB page was never cached at any level.
        Assert.Null(FrameOf(t, 0x4080_0000));
        Assert.Equal(0, t.StlbHits);
    }

    [Fact]
    public void A_fetch_looks_in_L1i_not_L1d()
    {
        var t = new VcpuTlb(new TlbGeometry { L1d4K = new(64, 4), L1i4K = new(64, 4) });
        Insert(t, 0xA000, 12, 0x7_A000, AccessKind.Read);

        Assert.Null(FrameOf(t, 0xA000, AccessKind.Fetch));
        Assert.Equal(0x7_A000UL, FrameOf(t, 0xA000, AccessKind.Write));

        Insert(t, 0xA000, 12, 0x7_A000, AccessKind.Fetch);

        Assert.Equal(0x7_A000UL, FrameOf(t, 0xA000, AccessKind.Fetch));
    }

    [Fact]
    public void A_fetch_missing_L1i_is_served_by_the_unified_STLB_filled_by_a_data_access()
    {
        var t = new VcpuTlb(new TlbGeometry { L1d4K = new(64, 4), L1i4K = new(64, 4), Stlb = new(512, 4) });
        Insert(t, 0xA000, 12, 0x7_A000, AccessKind.Read);

        Assert.Equal(0x7_A000UL, FrameOf(t, 0xA000, AccessKind.Fetch));
        Assert.Equal(1, t.StlbHits);
        Assert.Equal(0x7_A000UL, FrameOf(t, 0xA000, AccessKind.Fetch));
        Assert.Equal(1, t.StlbHits);
    }

    [Fact]
    public void InvalidatePage_drops_the_va_from_both_levels()
    {
        var t = new VcpuTlb(TlbGeometry.Default);
        Insert(t, 0xA000, 12, 0x7_A000);
        Insert(t, 0xB000, 12, 0x7_B000);

        t.InvalidatePage(0xA800, 0);

        Assert.Null(FrameOf(t, 0xA000));
        Assert.Equal(0x7_B000UL, FrameOf(t, 0xB000));
        Assert.Equal(0, t.StlbHits);
    }

    [Fact]
    public void InvalidatePage_of_any_va_in_a_2MiB_page_drops_every_4KiB_piece_it_was_fractured_into()
    {
        // SDM Vol. 3 §4.10.4.2: when a large page is cached as several smaller-page entries, INVLPG of any
        // address in it "invalidate[s] all TLB entries corresponding to the translation".
        var t = new VcpuTlb(new TlbGeometry { L1d4K = new(64, 4) });
        Insert(t, Region + 0x3000, 21, Page2M);
        Insert(t, Region + 0x4000, 21, Page2M);

        t.InvalidatePage(Region, 0);

        Assert.Null(FrameOf(t, Region + 0x3000));
        Assert.Null(FrameOf(t, Region + 0x4000));
    }

    [Fact]
    public void InvalidatePage_of_the_base_of_a_1GiB_page_drops_the_2MiB_pieces_it_was_fractured_into()
    {
        var t = new VcpuTlb(new TlbGeometry { L1d4K = new(64, 4), L1d2M = new(32, 4), Stlb = new(512, 4), Stlb2M = true });
        const ulong va = 0x4000_0000 + 0x60_3000;
        Insert(t, va, 30, 0x8000_0000);

        t.InvalidatePage(0x4000_0000, 0);

        Assert.Null(FrameOf(t, va));
    }

    [Fact]
    public void Flush_of_a_PCID_empties_both_levels_of_its_non_global_entries()
    {
        var t = new VcpuTlb(TlbGeometry.Default);
        Insert(t, 0xA000, 12, 0x7_A000, pcid: 1);
        Insert(t, 0xB000, 12, 0x7_B000, pcid: 1, global: true);
        Insert(t, 0xC000, 12, 0x7_C000, pcid: 2);

        t.Flush(1, includeGlobal: false);

        Assert.Null(FrameOf(t, 0xA000, pcid: 1));
        Assert.Equal(0x7_B000UL, FrameOf(t, 0xB000, pcid: 1));
        Assert.Equal(0x7_C000UL, FrameOf(t, 0xC000, pcid: 2));
        Assert.Equal(0, t.StlbHits);

        t.Flush(null, includeGlobal: true);

        Assert.Null(FrameOf(t, 0xB000, pcid: 1));
        Assert.Null(FrameOf(t, 0xC000, pcid: 2));
    }

    [Fact]
    public void A_repeated_hit_on_one_page_sees_every_change_to_the_arrays_at_once()
    {
        // The second lookup of a page is answered from the last hit; any insert, invalidation or flush must end that.
        var t = new VcpuTlb(TlbGeometry.Default);
        Insert(t, 0xA000, 12, 0x7_A000, pcid: 1);
        Assert.Equal(0x7_A000UL, FrameOf(t, 0xA010, pcid: 1));
        Assert.Equal(0x7_A000UL, FrameOf(t, 0xAFF8, pcid: 1));
        Assert.Null(FrameOf(t, 0xA000, pcid: 2));              // another PCID: not the remembered hit
        Assert.Equal(0, t.StlbHits);
        Assert.Equal(0x7_A000UL, FrameOf(t, 0xA000, AccessKind.Fetch, 1)); // the instruction side: its L1 misses,
        Assert.Equal(1, t.StlbHits);                                        // the unified STLB serves it

        Insert(t, 0xA000, 12, 0x9_A000, pcid: 1);              // remapped in place
        Assert.Equal(0x9_A000UL, FrameOf(t, 0xA000, pcid: 1));
        t.InvalidatePage(0xA000, 1);
        Assert.Null(FrameOf(t, 0xA000, pcid: 1));

        Insert(t, 0xB000, 12, 0x7_B000, pcid: 1);
        Assert.Equal(0x7_B000UL, FrameOf(t, 0xB000, pcid: 1));
        t.Flush(1, includeGlobal: false);
        Assert.Null(FrameOf(t, 0xB000, pcid: 1));

        Insert(t, Region, 21, Page2M, pcid: 1);
        Assert.Equal(Page2M + 0x5000, FrameOf(t, Region + 0x5123, pcid: 1));
        t.InsertSplintered(Region, 1, AccessKind.Read, 21, Page2M + 0x20_0000, 12, All, All, dirty: false, global: false);
        Assert.Equal(Page2M + 0x20_0000, FrameOf(t, Region, pcid: 1)); // the splintered 4 KiB piece of the new mapping
    }
}
