using Replay.Cli;
using Replay.Sweep;

namespace Replay.Tests.Sweep;

public sealed class OptionValuesTests
{
    [Theory]
    [InlineData("8", new[] { "8" })]
    [InlineData("0|8|32", new[] { "0", "8", "32" })]
    [InlineData("xen|kvm", new[] { "xen", "kvm" })]
    // 64, 128, ..., 4096: seven doublings.
    [InlineData("64..4096:x2", new[] { "64", "128", "256", "512", "1024", "2048", "4096" })]
    // Geometric stops at the last value not above the end: 1, 3, 9, 27 (81 > 50).
    [InlineData("1..50:x3", new[] { "1", "3", "9", "27" })]
    [InlineData("0..20:+8", new[] { "0", "8", "16" })]
    [InlineData("3..5", new[] { "3", "4", "5" })]
    // Items may be ranges; a value given twice runs once, where it first appears.
    [InlineData("0|8..32:x2|16", new[] { "0", "8", "16", "32" })]
    [InlineData("9223372036854775000..9223372036854775807:x2", new[] { "9223372036854775000" })]
    public void Lists_and_ranges_expand_in_order(string text, string[] expected) =>
        Assert.Equal(expected, OptionValues.Expand(text));

    [Theory]
    [InlineData("8..4", "ends below its start")]
    [InlineData("1..8:x1", "factor of at least 2")]
    [InlineData("0..8:x2", "positive start")]
    [InlineData("1..8:+0", "at least 1")]
    [InlineData("1..8:*2", "':+N' (add N) or ':xN'")]
    [InlineData("a..8", "start 'a', which is not a whole number")]
    [InlineData("0||8", "empty item")]
    [InlineData("1..100000", "more than 10,000")]
    public void A_bad_range_says_what_is_wrong(string text, string message)
    {
        var e = Assert.Throws<UsageException>(() => OptionValues.Expand(text));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
