using Replay.Engines.Hybrid;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// The hybrid engine's switching policy (Wang et al., VEE 2011) on hand-made interval samples: rates per 1000
/// accesses against the thresholds, inclusive, the fault side first; and the hold that asks for agreeing intervals.
/// </summary>
public sealed class HybridPolicyTests
{
    private static readonly HybridOptions O = new(TlbThreshold: 100, FaultThreshold: 5, Hold: 1);

    [Theory]
    [InlineData(1000, 100, 0, 0, PagingMode.Shadow)]  // 100 misses per 1000 accesses: at the threshold → shadow
    [InlineData(1000, 99, 0, 0, PagingMode.Nested)]   // just under: stay
    [InlineData(1000, 1000, 5, 0, PagingMode.Nested)] // 5 faults per 1000 accesses: the fault side wins over any miss rate
    [InlineData(1000, 1000, 2, 3, PagingMode.Nested)] // faults + page-table writes = 5: nested
    [InlineData(1000, 1000, 4, 0, PagingMode.Shadow)] // 4 per 1000: under the fault threshold, so the misses decide
    [InlineData(0, 0, 0, 0, PagingMode.Nested)]       // no access: stay
    public void A_nested_interval_votes_by_its_rates(long accesses, long tlbMisses, long faults, long ptWrites, PagingMode vote) =>
        Assert.Equal(vote, HybridPolicy.Vote(PagingMode.Nested, new IntervalSample(accesses, tlbMisses, faults, ptWrites), O));

    [Fact]
    public void Cr3_loads_and_invalidations_count_with_faults_as_events_that_exit_only_under_shadow_paging()
    {
        // 3 CR3 loads + 2 INVLPGs in 1000 accesses = 5 per 1000: nested, although every access missed the TLB.
        Assert.Equal(PagingMode.Nested, HybridPolicy.Vote(PagingMode.Shadow, new IntervalSample(1000, 1000, 0, 0, Cr3Loads: 3, Invalidations: 2), O));
        Assert.Equal(PagingMode.Shadow, HybridPolicy.Vote(PagingMode.Shadow, new IntervalSample(1000, 1000, 0, 0, Cr3Loads: 3, Invalidations: 1), O));
    }

    [Fact]
    public void A_quiet_interval_keeps_either_mode()
    {
        var quiet = new IntervalSample(1000, 10, 0, 0);
        Assert.Equal(PagingMode.Shadow, HybridPolicy.Vote(PagingMode.Shadow, quiet, O));
        Assert.Equal(PagingMode.Nested, HybridPolicy.Vote(PagingMode.Nested, quiet, O));
    }

    [Fact]
    public void With_hold_3_the_mode_changes_only_after_three_agreeing_intervals_in_a_row()
    {
        var s = new HybridSwitcher(O with { Hold = 3 });
        var missy = new IntervalSample(1000, 500, 0, 0);
        var faulty = new IntervalSample(1000, 500, 50, 0);

        // Votes: shadow, shadow, nested (breaks the run), shadow, shadow, shadow (the third in a row: switch).
        Assert.Equal(PagingMode.Nested, s.Next(PagingMode.Nested, missy));
        Assert.Equal(PagingMode.Nested, s.Next(PagingMode.Nested, missy));
        Assert.Equal(PagingMode.Nested, s.Next(PagingMode.Nested, faulty));
        Assert.Equal(PagingMode.Nested, s.Next(PagingMode.Nested, missy));
        Assert.Equal(PagingMode.Nested, s.Next(PagingMode.Nested, missy));
        Assert.Equal(PagingMode.Shadow, s.Next(PagingMode.Nested, missy));

        // The run starts again after a switch.
        Assert.Equal(PagingMode.Shadow, s.Next(PagingMode.Shadow, faulty));
    }
}
