using Replay.Engines.Caches;

namespace Replay.Engines.Tests.Caches;

/// <summary>
/// <see cref="LineCache"/>: exact LRU per set, dead lines applied when their set is next looked up, reserved ways.
/// Each case runs on a set of 4 ways (the order-word representation) and of 20 ways (the shifting one, used above 16).
/// </summary>
public sealed class LineCacheTests
{
    /// <summary>A cache of 4 sets of <paramref name="ways"/> ways.</summary>
    private static LineCache Set(int ways) => ways switch
    {
        4 => new LineCache(new CacheLevelGeometry(1, 4)),   // 16 lines in 4 sets: lines 0, 4, 8, ... share set 0
        20 => new LineCache(new CacheLevelGeometry(5, 20)), // 80 lines in 4 sets
        _ => throw new ArgumentOutOfRangeException(nameof(ways)),
    };

    /// <summary>The n-th line of set 0 (both geometries have 4 sets).</summary>
    private static ulong L(int n) => (ulong)n * 4;

    [Theory]
    [InlineData(4)]
    [InlineData(20)]
    public void A_full_set_evicts_its_least_recently_used_line(int ways)
    {
        var c = Set(ways);
        for (int n = 0; n < ways; n++)
        {
            Assert.False(c.Access(L(n)));
        }

        Assert.True(c.Access(L(0)));          // line 0 is now the most recent; line 1 the least
        Assert.False(c.Access(L(ways)));      // evicts line 1
        Assert.True(c.Access(L(0)));
        Assert.True(c.Access(L(2)));
        Assert.False(c.Access(L(1)));         // it was evicted; now it evicts line 3
        Assert.False(c.Access(L(3)));
        Assert.True(c.Access(L(1)));
        Assert.True(c.Access(L(2)));
        Assert.True(c.Access(L(0)));
        Assert.False(c.Access(1));            // set 1: its own lines, set 0 untouched
        Assert.True(c.Access(L(1)));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(20)]
    public void Dead_lines_take_the_least_recent_ways_and_become_the_most_recent(int ways)
    {
        var c = Set(ways);
        for (int n = 0; n < ways; n++)
        {
            c.Access(L(n)); // recency, most recent first: n-1, ..., 1, 0
        }

        c.Access(1);        // set 1 holds one line and empty ways
        c.AddDead(L(1000));
        c.AddDead(L(2000)); // set 0 twice: its two least recent lines, 1 and 0, are pushed out
        c.AddDead(1);       // set 1 once: the dead line takes an empty way

        Assert.False(c.Access(L(0)));        // the set is [dead, dead, n-1, ..., 2]: a miss, which evicts line 2
        Assert.True(c.Access(L(ways - 1)));
        Assert.False(c.Access(L(2)));
        Assert.False(c.Access(L(1)));
        Assert.True(c.Access(L(0)));
        Assert.True(c.Access(L(ways - 1)));
        Assert.True(c.Access(L(2)));
        Assert.True(c.Access(L(1)));
        Assert.True(c.Access(1));            // set 1 kept its line
    }

    [Theory]
    [InlineData(4)]
    [InlineData(20)]
    public void More_dead_lines_than_ways_empty_the_set_and_no_more(int ways)
    {
        var c = Set(ways);
        for (int n = 0; n < ways; n++)
        {
            c.Access(L(n));
        }

        for (int i = 0; i < 3 * ways; i++)
        {
            c.AddDead(L(5000 + i));
        }

        for (int n = 0; n < ways; n++)
        {
            Assert.False(c.Access(L(n))); // every line was pushed out, and each refill finds an empty way
        }

        for (int n = 0; n < ways; n++)
        {
            Assert.True(c.Access(L(n)));  // so they all fit again: no dead line was left over for later
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(20)]
    public void Reserved_ways_are_not_offered_to_the_traces_lines(int ways)
    {
        // 4 sets; reserving 6 lines takes 2 ways from sets 0 and 1 and 1 way from sets 2 and 3.
        var c = Set(ways);
        c.Reserve(6);
        for (int n = 0; n < ways - 2; n++)
        {
            Assert.False(c.Access(L(n)));
        }

        Assert.True(c.Access(L(0)));
        Assert.False(c.Access(L(ways - 2))); // set 0 holds ways - 2 lines: this evicts line 1
        Assert.False(c.Access(L(1)));
        for (int n = 0; n < ways - 1; n++)
        {
            Assert.False(c.Access(2 + (ulong)n * 4)); // set 2: ways - 1 lines fit
        }

        Assert.True(c.Access(2));
        Assert.False(c.Access(2 + (ulong)(ways - 1) * 4));
        Assert.False(c.Access(6));           // line 1 of set 2, the least recent, went
    }

    [Fact]
    public void Reserving_more_lines_than_a_set_has_ways_leaves_one()
    {
        var c = Set(4);
        c.Reserve(100); // 25 per set
        Assert.False(c.Access(L(0)));
        Assert.True(c.Access(L(0)));
        Assert.False(c.Access(L(1)));
        Assert.False(c.Access(L(0)));
    }

    [Fact]
    public void Dead_lines_never_exceed_the_usable_ways()
    {
        var c = Set(4);
        c.Reserve(8); // 2 usable ways per set
        c.Access(L(0));
        c.Access(L(1));
        c.AddDead(L(9));
        c.AddDead(L(9));
        c.AddDead(L(9)); // the third has no usable way left to take (and must not be applied as one)
        Assert.False(c.Access(L(0)));
        Assert.False(c.Access(L(1)));
        Assert.True(c.Access(L(0)));
    }
}
