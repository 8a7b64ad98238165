using Replay.Fidelity;

namespace Replay.Tests.Fidelity;

/// <summary><see cref="FidelityTable.Markdown"/>: a measured size keeps two decimals unless it is a whole number.</summary>
public sealed class FidelityTableTests
{
    private static string MeasuredCell(double measured, string unit)
    {
        var row = new FidelityRow("e", "s", "t", "p", 1, 1, measured, unit, true, measured, true);
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
}
