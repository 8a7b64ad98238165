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

    /// <summary>
    /// Generated streams of lookups and dead lines over every set of caches of 4 to 20 ways (the order word with the
    /// vectorized and the scalar way search, the shifting sets above 16 ways; power-of-two and other set counts, with and
    /// without reserved ways) give, lookup by lookup, the hits of a plain list-per-set LRU: most recent first, a hit
    /// moves to the front, a miss evicts the back, k pending dead lines empty the k least recent usable ways and put
    /// them in front.
    /// </summary>
    [Theory]
    [InlineData(2, 4, 0)]
    [InlineData(3, 4, 0)]   // 12 sets: not a power of two
    [InlineData(3, 6, 0)]   // 6 ways: the scalar way search
    [InlineData(4, 8, 9)]
    [InlineData(6, 12, 0)]
    [InlineData(8, 16, 20)]
    [InlineData(10, 20, 0)]
    [InlineData(10, 20, 17)]
    public void Every_set_matches_a_plain_lru_list(int kib, int ways, int reserved)
    {
        var g = new CacheLevelGeometry(kib, ways);
        var c = new LineCache(g);
        var model = new List<ulong>[g.Sets];
        var dead = new int[g.Sets];
        for (int s = 0; s < g.Sets; s++)
        {
            int mine = (reserved / g.Sets) + (s < reserved % g.Sets ? 1 : 0);
            model[s] = Enumerable.Repeat(ulong.MaxValue, Math.Max(1, ways - mine)).ToList();
        }

        if (reserved > 0)
        {
            c.Reserve(reserved);
        }

        var rnd = new Random(kib * 100 + ways + reserved);
        int hits = 0;
        for (int n = 0; n < 20_000; n++)
        {
            ulong line = (ulong)rnd.Next(g.Lines * 2);
            var set = model[(int)(line % (ulong)g.Sets)];
            ref int pending = ref dead[(int)(line % (ulong)g.Sets)];
            if (rnd.Next(8) == 0)
            {
                c.AddDead(line);
                pending = Math.Min(pending + 1, set.Count);
                continue;
            }

            var gone = set.GetRange(set.Count - pending, pending);
            set.RemoveRange(set.Count - pending, pending);
            set.InsertRange(0, gone.Select(_ => ulong.MaxValue));
            pending = 0;
            int at = set.IndexOf(line);
            set.RemoveAt(at >= 0 ? at : set.Count - 1);
            set.Insert(0, line);
            Assert.Equal(at >= 0, c.Access(line));
            hits += at >= 0 ? 1 : 0;
        }

        Assert.InRange(hits, 2_000, 18_000); // the stream both hits and misses
    }
}
