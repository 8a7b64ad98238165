using Replay.Cli;
using Replay.Gen;

namespace Replay.Tests.Cli;

/// <summary>The progress line: bar, percent, rate and time left; drawn only on an interactive stderr.</summary>
public sealed class ProgressBarTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Theory]
    // Half of 2M events in 10 s: 100k events/s, and the other half takes as long again.
    [InlineData(50, 0.5, 10, 2_000_000L, "t.pq [############             ]  50%  0.1M events/s  ETA 0:10")]
    // A quarter of 40M in 5 s: 2M/s, 15 s left. No total: no rate. Done: no ETA.
    [InlineData(25, 0.25, 5, 40_000_000L, "t.pq [######                   ]  25%  2.0M events/s  ETA 0:15")]
    [InlineData(25, 0.25, 5, 0L, "t.pq [######                   ]  25%  ETA 0:15")]
    [InlineData(100, 1.0, 5, 0L, "t.pq [#########################] 100%")]
    // 1% after an hour: 99 hours to go.
    [InlineData(1, 0.01, 3600, 0L, "t.pq [                         ]   1%  ETA 99:00:00")]
    public void The_line_has_the_rate_and_the_time_left(int percent, double fraction, double seconds, long total, string expected) =>
        Assert.Equal(expected, ProgressBar.Line("t.pq", percent, fraction, seconds, total));

    [Fact]
    public void It_draws_on_a_terminal_only_and_clears_itself()
    {
        var now = TimeSpan.Zero;
        using var drawn = new StringWriter();
        var bar = new ProgressBar(drawn, enabled: true, () => now) { Label = "t.pq" };
        bar.Total = 1000;
        now = TimeSpan.FromSeconds(1);
        bar.Report(0.5);
        bar.Report(0.5); // the same percent is not drawn again
        bar.Done();
        string line = "t.pq [############             ]  50%  0.0M events/s  ETA 0:01";
        Assert.Equal("\r" + line + "\r" + new string(' ', line.Length) + "\r", drawn.ToString());

        using var quiet = new StringWriter();
        var off = new ProgressBar(quiet, enabled: false, () => now) { Label = "t.pq" };
        off.Report(0.5);
        off.Done();
        Assert.Equal("", quiet.ToString());
    }

    [Fact]
    public async Task Gen_reports_a_rising_fraction_that_ends_at_the_whole()
    {
        var seen = new List<double>();
        var progress = new Recorder(seen);
        long rows = await GenCommand.GenerateAsync(Workloads.Find("ctxswitch")!, _d.File("t.pq"), 1, 300_000, null, progress);
        Assert.True(rows > 0);
        Assert.NotEmpty(seen);
        Assert.Equal(seen.Order(), seen);
        Assert.InRange(seen[^1], 0.9, 1.0);
    }

    private sealed class Recorder(List<double> seen) : IProgress<double>
    {
        public void Report(double value) => seen.Add(value);
    }
}
