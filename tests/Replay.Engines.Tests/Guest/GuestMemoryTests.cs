using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.Tests.Guest;

/// <summary>Sparse guest memory: zero until written; sub-word stores are little-endian within the aligned word.</summary>
public sealed class GuestMemoryTests
{
    private const ulong Word = 0x1122_3344_5566_7788UL; // byte 0 = 0x88 ... byte 7 = 0x11

    private static GuestMemory WithWordAt0x1000()
    {
        var m = new GuestMemory();
        m.WriteWord(0x1000, Word);
        return m;
    }

    [Fact]
    public void Unwritten_memory_reads_as_zero_and_allocates_nothing()
    {
        var m = new GuestMemory();

        Assert.Equal(0UL, m.ReadWord(0x1234_5678));
        Assert.Null(m.Frame(0x12345));
        Assert.Equal(0, m.FrameCount);
    }

    [Fact]
    public void A_word_is_read_back_from_any_address_inside_it()
    {
        var m = WithWordAt0x1000();

        Assert.Equal(Word, m.ReadWord(0x1000));
        Assert.Equal(Word, m.ReadWord(0x1005));
        Assert.Equal(0UL, m.ReadWord(0x1008));
        Assert.Equal(1, m.FrameCount);
    }

    [Theory]
    // width 1 at byte 3 replaces 0x55 (bits 31:24); only the low byte of the value is stored.
    [InlineData(0x1003UL, 0xFFABUL, 1, 0x1122_3344_AB66_7788UL)]
    // width 1 at byte 0.
    [InlineData(0x1000UL, 0x1234UL, 1, 0x1122_3344_5566_7734UL)]
    // width 2 at byte 6 replaces bytes 6..7 (0x1122) with 0xBEEF.
    [InlineData(0x1006UL, 0xBEEFUL, 2, 0xBEEF_3344_5566_7788UL)]
    // width 2 at byte 2 replaces bytes 2..3 (0x5566).
    [InlineData(0x1002UL, 0xFFFF_BEEFUL, 2, 0x1122_3344_BEEF_7788UL)]
    // width 4 at byte 0 replaces the low half.
    [InlineData(0x1000UL, 0xDEAD_BEEFUL, 4, 0x1122_3344_DEAD_BEEFUL)]
    // width 4 at byte 4 replaces the high half (e.g. setting NX/high address bits of a PTE).
    [InlineData(0x1004UL, 0xDEAD_BEEFUL, 4, 0xDEAD_BEEF_5566_7788UL)]
    // width 8 replaces the word.
    [InlineData(0x1000UL, 0xCAFE_BABE_DEAD_BEEFUL, 8, 0xCAFE_BABE_DEAD_BEEFUL)]
    public void A_store_writes_the_low_width_bytes_little_endian_and_returns_the_old_and_new_word(
        ulong pa, ulong value, int width, ulong expected)
    {
        var m = WithWordAt0x1000();

        var (old, updated) = m.Store(pa, value, width);

        Assert.Equal(Word, old);
        Assert.Equal(expected, updated);
        Assert.Equal(expected, m.ReadWord(0x1000));
    }

    [Fact]
    public void A_store_into_unwritten_memory_starts_from_zero()
    {
        var m = new GuestMemory();

        var (old, updated) = m.Store(0x2002, 0xABCD, 2);

        // 0xABCD at bytes 2..3.
        Assert.Equal(0UL, old);
        Assert.Equal(0xABCD_0000UL, updated);
        Assert.Equal(0xABCD_0000UL, m.ReadWord(0x2000));
    }

    [Fact]
    public void A_4_byte_store_at_byte_6_is_clipped_to_the_containing_word()
    {
        var m = WithWordAt0x1000();

        var (_, updated) = m.Store(0x1006, 0xDEAD_BEEF, 4);

        // Bytes 6..7 get the value's low two bytes 0xBEEF; the next word is untouched.
        Assert.Equal(0xBEEF_3344_5566_7788UL, updated);
        Assert.Equal(0UL, m.ReadWord(0x1008));
    }

    [Fact]
    public void An_8_byte_store_at_byte_4_is_clipped_to_the_containing_word()
    {
        var m = WithWordAt0x1000();

        var (_, updated) = m.Store(0x1004, 0xCAFE_BABE_DEAD_BEEFUL, 8);

        // Bytes 0..3 keep 0x55667788; bytes 4..7 get the value's low four bytes 0xDEADBEEF.
        Assert.Equal(0xDEAD_BEEF_5566_7788UL, updated);
        Assert.Equal(0xDEAD_BEEF_5566_7788UL, m.ReadWord(0x1000));
    }

    [Fact]
    public void SetBits_ors_bits_into_the_word()
    {
        var m = WithWordAt0x1000();

        m.SetBits(0x1000, Pte.Accessed | Pte.Dirty);
        m.SetBits(0x3000, Pte.Accessed);

        Assert.Equal(Word | 0x60, m.ReadWord(0x1000));
        Assert.Equal(0x20UL, m.ReadWord(0x3000));
    }
}
