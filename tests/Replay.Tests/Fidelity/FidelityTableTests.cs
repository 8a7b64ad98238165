using Replay.Fidelity;

namespace Replay.Tests.Fidelity;

/// <summary><see cref="FidelityTable.Markdown"/>: a measured size keeps two decimals unless it is a whole number.</summary>
public sealed class FidelityTableTests
{
    private static string MeasuredCell(double measured, string unit)
    {
        var row = new FidelityRow("e", "s", "t", "p", 1, 1, measured, unit, true, measured, true, double.NaN);
        string line = FidelityTable.Markdown([row]).Split('\n')[2];
        return line.Split('|')[5].Trim();
    }

    [Theory]
    [InlineData(9.002, "×", "9.00 ×")]      // not "9 ×" beside "7.31 ×"
    [InlineData(24.0, "references", "24 references")]
    [InlineData(-1.654, "% faster", "-1.65 % faster")]
    [InlineData(282.344, "% faster", "282.34 % faster")]
    public void Measured_sizes_keep_two_decimals_unless_whole(double measured, string unit, string cell) =>
        Assert.Equal(cell, MeasuredCell(measured, unit));

    [Theory]
    [InlineData(double.NaN, "–")]
    [InlineData(13.7166, "13.72")]
    [InlineData(24.0, "24")]
    public void The_ceiling_is_the_last_cell_a_dash_where_an_effect_has_none(double ceiling, string cell)
    {
        var row = new FidelityRow("e", "s", "t", "p", 48, 48, 13.31, "% faster", true, 0.28, false, ceiling);
        string[] md = FidelityTable.Markdown([row]).Split('\n');
        Assert.EndsWith("| ceiling |", md[0], StringComparison.Ordinal);
        string[] cells = md[2].Split('|');
        Assert.Equal(cell, cells[^2].Trim());
    }
}
