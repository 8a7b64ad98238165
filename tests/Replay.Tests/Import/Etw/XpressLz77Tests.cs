using Replay.Import.Etw;
using Xunit;

namespace Replay.Tests.Import.Etw;

public sealed class XpressLz77Tests
{
    [Fact]
    public void Literals_then_an_overlapping_match_expand_as_MS_XCA_says()
    {
        // Flags 0x10000000: items 1-3 (bits 31-29) literals 'a' 'b' 'c', item 4 (bit 28) a match.
        // Match word 0x0013: length (0x13 & 7) + 3 = 6, offset (0x13 >> 3) + 1 = 3: "abc" copied forward twice.
        byte[] input = [0x00, 0x00, 0x00, 0x10, (byte)'a', (byte)'b', (byte)'c', 0x13, 0x00];
        var output = new byte[9];
        Assert.Equal(9, XpressLz77.Decompress(input, output));
        Assert.Equal("abcabcabc", System.Text.Encoding.ASCII.GetString(output));
    }

    [Fact]
    public void A_long_match_takes_its_length_from_a_nibble_then_a_byte()
    {
        // Literal 'x', then a match with length field 7, nibble 15, extra byte 5: 5 + 15 + 7 + 3 = 30 bytes at offset 1.
        byte[] input = [0x00, 0x00, 0x00, 0x40, (byte)'x', 0x07, 0x00, 0x0F, 0x05];
        var output = new byte[31];
        Assert.Equal(31, XpressLz77.Decompress(input, output));
        Assert.All(output, b => Assert.Equal((byte)'x', b));
    }

    [Fact]
    public void A_match_before_the_start_of_the_output_is_corrupt_data()
    {
        byte[] input = [0x00, 0x00, 0x00, 0x80, 0x13, 0x00];
        Assert.Throws<InvalidDataException>(() => XpressLz77.Decompress(input, new byte[8]));
    }
}
