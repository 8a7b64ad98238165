using Replay.Engines.Paging;

namespace Replay.Engines.Tests.Paging;

/// <summary>Gva, Gpa and Gfn: the unit each is in, and the conversions between them the SDM's geometry gives.</summary>
public sealed class GuestAddressTests
{
    [Fact]
    public void A_gpa_lies_in_the_frame_of_its_address_shifted_by_twelve()
    {
        var pa = new Gpa(0x80_1ABC);

        Assert.Equal(new Gfn(0x801), pa.Gfn);
        Assert.Equal(0xABCUL, pa.PageOffset);
        Assert.Equal(new Gpa(0x80_1000), pa.Gfn.Address);
    }

    [Fact]
    public void A_table_entry_of_a_frame_is_eight_bytes_per_index()
    {
        var table = new Gfn(0x10);

        Assert.Equal(new Gpa(0x1_0000), table.Entry(0));
        Assert.Equal(new Gpa(0x1_0FF8), table.Entry(Pte.IndexMask)); // entry 511: 0x10000 + 511 * 8
    }

    [Fact]
    public void A_gva_splits_into_its_page_offset_and_table_indexes()
    {
        // 0x7F12_3456_7ABC: PML4 index 0xFE, PDPT 0x48, PD 0x1A2, PT 0x167, offset 0xABC.
        var va = new Gva(0x7F12_3456_7ABC);

        Assert.Equal(0xABCUL, va.PageOffset);
        Assert.Equal(0x7F12_3456_7UL, va.PageNumber);
        Assert.Equal([0x167, 0x1A2, 0x48, 0xFE], new[] { va.Index(1), va.Index(2), va.Index(3), va.Index(4) });
    }

    [Fact]
    public void A_translation_names_the_page_it_reached_and_the_address_an_access_used()
    {
        var t = new Translation(0x80_1000, Perms.Write | Perms.User, false);

        Assert.Equal(new Gpa(0x80_1000), t.Page);
        Assert.Equal(new Gfn(0x801), t.Page.Gfn);
        Assert.Equal(new Gpa(0x80_1123), t.Of(new Gva(0x40_0123)));
        Assert.Equal("page 0x801000 rw,user,nx", t.ToString());
        Assert.Equal(new Translation(new Gpa(0x80_1000), Perms.Write | Perms.User, false), t);
    }

    [Fact]
    public void Addresses_of_different_units_print_their_unit()
    {
        Assert.Equal("gva 0x1000", new Gva(0x1000).ToString());
        Assert.Equal("gpa 0x1000", new Gpa(0x1000).ToString());
        Assert.Equal("gfn 0x1", new Gfn(1).ToString());
    }
}
