using Replay.Engines.Paging;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Tlb;

/// <summary>
/// One set-associative TLB array: set = vpn mod sets, LRU within the set, tags of vpn and PCID, global entries
/// matching every PCID (SDM Vol. 3 §4.10.2, §4.10.4).
/// </summary>
public sealed class TlbArrayCacheTests
{
    private const Perms All = Perms.Write | Perms.User | Perms.Exec;

    // 4 entries, 2 ways: 2 sets; an even vpn goes to set 0, an odd one to set 1.
    private static TlbArrayCache FourByTwo() => new(new TlbArray(4, 2), 12);

    private static ulong Page(ulong vpn) => vpn << 12;

    private static void Insert(TlbArrayCache t, ulong vpn, ushort pcid = 0, bool global = false) =>
        t.Insert(Page(vpn), pcid, 0x100_0000 + Page(vpn), All, All, dirty: false, global);

    private static bool Hits(TlbArrayCache t, ulong vpn, ushort pcid = 0) => t.Lookup(Page(vpn) + 0x123, pcid, out _);

    [Fact]
    public void A_third_vpn_in_a_full_2_way_set_evicts_the_least_recently_inserted()
    {
        var t = FourByTwo();
        Insert(t, 0);
        Insert(t, 2);
        Insert(t, 1); // set 1: does not compete

        Insert(t, 4); // set 0 holds 0 and 2; 0 is least recently used

        Assert.False(Hits(t, 0));
        Assert.True(Hits(t, 2));
        Assert.True(Hits(t, 4));
        Assert.True(Hits(t, 1));
    }

    [Fact]
    public void A_lookup_refreshes_an_entry_so_the_other_way_is_evicted()
    {
        var t = FourByTwo();
        Insert(t, 0);
        Insert(t, 2);
        Assert.True(Hits(t, 0)); // 2 is now least recently used

        Insert(t, 4);

        Assert.True(Hits(t, 0));
        Assert.False(Hits(t, 2));
        Assert.True(Hits(t, 4));
    }

    [Fact]
    public void Vpns_in_different_sets_do_not_evict_each_other()
    {
        var t = FourByTwo();
        Insert(t, 0);
        Insert(t, 1);
        Insert(t, 3);
        Insert(t, 5); // set 1 now holds 3 and 5

        Assert.True(Hits(t, 0));
        Assert.False(Hits(t, 1));
        Assert.True(Hits(t, 3));
        Assert.True(Hits(t, 5));
    }

    [Fact]
    public void Reinserting_a_cached_vpn_overwrites_it_in_place()
    {
        var t = FourByTwo();
        Insert(t, 0);
        Insert(t, 2);
        t.Insert(Page(0), 0, 0x900_0000, Perms.User, Perms.User, dirty: true, global: false);

        Assert.True(t.Lookup(Page(0), 0, out var hit));
        Assert.Equal(0x900_0000UL, hit.Frame);
        Assert.Equal(Perms.User, hit.HwPerms);
        Assert.True(hit.Dirty);
        Assert.True(Hits(t, 2)); // the other way was not taken
    }

    [Fact]
    public void A_hit_in_a_2MiB_array_reports_the_4KiB_frame_of_the_va_and_the_stored_bits()
    {
        var t = new TlbArrayCache(new TlbArray(4, 4), 21);
        ulong va = 0x4060_0000UL + 0x1A_B567;
        t.Insert(va, 3, 0x8000_0000, Perms.Write | Perms.User, Perms.User, dirty: true, global: true);

        Assert.True(t.Lookup(va, 3, out var hit));

        // Offset in the page 0x1AB567, 4 KiB-aligned: 0x1AB000.
        Assert.Equal(new TlbHit(true, 0x801A_B000, Perms.Write | Perms.User, Perms.User, true, true, 21), hit);
        Assert.Equal(21, t.PageShift);
    }

    [Fact]
    public void Entries_are_tagged_by_PCID()
    {
        var t = FourByTwo();
        Insert(t, 0, pcid: 1);

        Assert.True(Hits(t, 0, pcid: 1));
        Assert.False(Hits(t, 0, pcid: 2));
    }

    [Fact]
    public void The_same_vpn_in_two_PCIDs_occupies_two_entries()
    {
        var t = FourByTwo();
        t.Insert(Page(0), 1, 0xA000, All, All, false, false);
        t.Insert(Page(0), 2, 0xB000, All, All, false, false);

        Assert.True(t.Lookup(Page(0), 1, out var h1));
        Assert.True(t.Lookup(Page(0), 2, out var h2));
        Assert.Equal(0xA000UL, h1.Frame);
        Assert.Equal(0xB000UL, h2.Frame);
    }

    [Fact]
    public void A_global_entry_hits_under_any_PCID()
    {
        var t = FourByTwo();
        Insert(t, 0, pcid: 1, global: true);

        Assert.True(Hits(t, 0, pcid: 1));
        Assert.True(Hits(t, 0, pcid: 2));
        Assert.True(Hits(t, 0, pcid: 4095));
    }

    [Fact]
    public void A_non_global_flush_of_one_PCID_keeps_its_globals_and_other_PCIDs_entries()
    {
        var t = FourByTwo();
        Insert(t, 0, pcid: 1);
        Insert(t, 1, pcid: 1, global: true);
        Insert(t, 2, pcid: 2);

        t.Flush(1, includeGlobal: false);

        Assert.False(Hits(t, 0, pcid: 1));
        Assert.True(Hits(t, 1, pcid: 1));
        Assert.True(Hits(t, 2, pcid: 2));
    }

    [Fact]
    public void A_non_global_flush_of_every_PCID_keeps_only_globals()
    {
        var t = FourByTwo();
        Insert(t, 0, pcid: 1);
        Insert(t, 1, pcid: 1, global: true);
        Insert(t, 2, pcid: 2);

        t.Flush(null, includeGlobal: false);

        Assert.False(Hits(t, 0, pcid: 1));
        Assert.True(Hits(t, 1, pcid: 7));
        Assert.False(Hits(t, 2, pcid: 2));
    }

    [Fact]
    public void A_flush_including_globals_drops_global_entries_too()
    {
        var t = FourByTwo();
        Insert(t, 1, pcid: 1, global: true);
        Insert(t, 2, pcid: 2);
        Insert(t, 3, pcid: 3, global: true);

        // One PCID plus every global: the PCID-2 entry is another PCID's and survives.
        t.Flush(5, includeGlobal: true);
        Assert.True(Hits(t, 2, pcid: 2));
        Assert.False(Hits(t, 1, pcid: 1));
        Assert.False(Hits(t, 3, pcid: 3));

        t.Flush(null, includeGlobal: true);
        Assert.False(Hits(t, 2, pcid: 2));
    }

    [Fact]
    public void InvalidatePage_drops_the_current_PCIDs_entry_and_a_global_one_but_not_other_PCIDs()
    {
        var t = FourByTwo();
        Insert(t, 0, pcid: 1);
        Insert(t, 0, pcid: 2);
        Insert(t, 1, pcid: 3, global: true);
        Insert(t, 3, pcid: 1);

        t.InvalidatePage(Page(0) + 0xFFF, 1);
        t.InvalidatePage(Page(1), 1); // the global entry for vpn 1 goes whatever its PCID

        Assert.False(Hits(t, 0, pcid: 1));
        Assert.True(Hits(t, 0, pcid: 2));
        Assert.False(Hits(t, 1, pcid: 3));
        Assert.True(Hits(t, 3, pcid: 1));
    }

    [Fact]
    public void A_shared_STLB_holds_4KiB_and_2MiB_entries_in_the_same_ways()
    {
        // One set of 2 ways shared by both sizes (Skylake's STLB holds 4K and 2M pages in one array).
        var t = new TlbArrayCache(new TlbArray(2, 2), 12, altShift: 21);
        t.Insert(0x20_0000, 0, 0x4000_0000, Perms.Write, Perms.Write, dirty: true, global: false, origShift: 21, shift: 21);
        t.Insert(0x1000, 0, 0x9000, Perms.Write, Perms.Write, dirty: true, global: false, origShift: 12, shift: 12);

        // Both hit, each at its own size: a va anywhere in the 2 MiB page finds the 2 MiB entry.
        Assert.True(t.Lookup(0x20_0000 + 0x5_3000, 0, out var big));
        Assert.Equal(0x4005_3000UL, big.Frame);
        Assert.Equal(21, big.Shift);
        Assert.True(t.Lookup(0x1000, 0, out var small));
        Assert.Equal(12, small.Shift);

        // A third translation evicts the least recently used of the two, whatever its size: the 2 MiB one.
        t.Insert(0x2000, 0, 0xA000, Perms.Write, Perms.Write, dirty: true, global: false, origShift: 12, shift: 12);
        Assert.False(t.Lookup(0x20_0000, 0, out _));
        Assert.True(t.Lookup(0x1000, 0, out _));
    }
}
