using Replay.Fidelity;

namespace Replay.Tests.Fidelity;

/// <summary>
/// <see cref="Published.Ratio"/> (measured / published: against the nearer end of a range, 1 inside it, NaN when there
/// is nothing to divide by) and <see cref="FidelityRow.Of"/> (within 2× = the right direction and a ratio in [1/2, 2];
/// a direction-only effect needs only the direction).
/// </summary>
public sealed class PublishedTests
{
    private static Effect Effect(Published published, double measured, bool direction) =>
        new("an-effect", "a paper", "a setting", published, "units", [], _ => measured, (_, _) => direction);

    private static FidelityRow Row(Published published, double measured, bool direction = true) =>
        FidelityRow.Of(Effect(published, measured, direction), new LabResults());

    [Theory]
    [InlineData(5, 0.5)]   // below: 5 / 10
    [InlineData(10, 1.0)]
    [InlineData(25, 2.5)]  // above: 25 / 10
    public void A_point_divides_by_its_value(double measured, double ratio) =>
        Assert.Equal(ratio, Published.Point(10, "10").Ratio(measured));

    [Theory]
    [InlineData(2, 0.5)]   // below: against the low end, 2 / 4
    [InlineData(4, 1.0)]   // the ends and everything between are inside
    [InlineData(10, 1.0)]
    [InlineData(16, 1.0)]
    [InlineData(40, 2.5)]  // above: against the high end, 40 / 16
    public void A_range_divides_by_its_nearer_end_and_is_1_inside(double measured, double ratio) =>
        Assert.Equal(ratio, Published.Range(4, 16, "4–16").Ratio(measured));

    [Fact]
    public void A_direction_only_effect_has_no_ratio() =>
        Assert.True(double.IsNaN(Published.Direction("up").Ratio(3)));

    [Fact]
    public void A_published_zero_has_no_ratio_except_to_a_measured_zero()
    {
        Assert.True(double.IsNaN(Published.Point(0, "0").Ratio(3)));
        Assert.True(double.IsNaN(Published.Range(0, 5, "0–5").Ratio(-1)));
        Assert.Equal(2.0, Published.Range(0, 5, "0–5").Ratio(10)); // above: the high end is not zero
        Assert.Equal(1.0, Published.Point(0, "0").Ratio(0));      // inside the point
    }

    [Fact]
    public void A_measurement_that_is_not_a_number_has_no_ratio()
    {
        // A phase with no events measures 0/0; it is no closer to the published value than any other number.
        Assert.True(double.IsNaN(Published.Point(34, "34").Ratio(double.NaN)));
        Assert.True(double.IsNaN(Published.Range(4, 16, "4–16").Ratio(double.NaN)));
    }

    [Theory]
    [InlineData(5, true, 0.5, true)]     // 5 / 10 = 0.5: the lower edge of the band
    [InlineData(4.9, true, 0.49, false)]
    [InlineData(15, true, 1.5, true)]
    [InlineData(20, true, 2.0, true)]    // the upper edge
    [InlineData(20.5, true, 2.05, false)]
    [InlineData(15, false, 1.5, false)]  // within 2× but the wrong way
    public void A_row_is_within_2x_when_its_direction_is_right_and_its_ratio_in_half_to_double(double measured, bool direction, double ratio, bool within)
    {
        var r = Row(Published.Point(10, "ten"), measured, direction);
        Assert.Equal(ratio, r.Ratio, 12);
        Assert.Equal((direction, within), (r.DirectionOk, r.Within2x));
        Assert.Equal(("an-effect", "a paper", "a setting", "ten", 10.0, 10.0, measured, "units"),
            (r.Effect, r.Source, r.Setting, r.Published, r.PublishedLow, r.PublishedHigh, r.Measured, r.Unit));
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void A_direction_only_row_needs_only_its_direction(bool direction, bool within)
    {
        var r = Row(Published.Direction("up"), 1e9, direction);
        Assert.True(double.IsNaN(r.Ratio));
        Assert.True(double.IsNaN(r.PublishedLow) && double.IsNaN(r.PublishedHigh));
        Assert.Equal(within, r.Within2x);
    }

    [Fact]
    public void A_row_with_a_published_number_but_no_ratio_is_not_within_2x()
    {
        Assert.False(Row(Published.Point(0, "zero"), 3).Within2x);
        Assert.False(Row(Published.Point(34, "34"), double.NaN).Within2x);
    }

    [Fact]
    public void The_2D_walk_effect_measures_exactly_24_references()
    {
        // One TLB miss of a 4-level guest on a 4-level EPT with no caches in either dimension: 4 guest entries, each
        // after a 4-reference nested walk of its table's gpa, and a 4-reference nested walk of the data gpa:
        // 4 + 5 × 4 = 24 = (4+1)(4+1) − 1, Bhargava et al.'s figure.
        var effect = Effects.All(20_000).Single(e => e.Id == "two-d-walk-references");
        Assert.Empty(effect.Needs);
        var row = FidelityRow.Of(effect, new LabResults());
        Assert.Equal(24, row.Measured);
        Assert.Equal((1.0, true, true), (row.Ratio, row.DirectionOk, row.Within2x));
    }

    [Fact]
    public void Effect_ids_are_unique()
    {
        var ids = Effects.All(20_000).Select(e => e.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }
}
