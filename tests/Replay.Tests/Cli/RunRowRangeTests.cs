using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

/// <summary><c>replay run --skip N --warmup N --limit N</c> end to end (issue 14 part 4): the reports count only the counted rows.</summary>
public sealed class RunRowRangeTests
{
    /// <summary>A generated ctxswitch trace of a little over 12,000 rows.</summary>
    private static async Task<string> TraceAsync(TempDir d)
    {
        string trace = d.File("ctxswitch.pq");
        var (code, _, stderr) = await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "12000", "--seed", "2");
        Assert.True(code == 0, stderr);
        return trace;
    }

    [Fact]
    public async Task A_skip_of_0_and_a_warm_up_of_0_write_the_same_reports_as_a_plain_run()
    {
        using var d = Cli.Temp();
        string trace = await TraceAsync(d);
        var plain = await Cli.RunAsync(trace, "--window", "5000", "--out", d.File("a"));
        var zero = await Cli.RunAsync(trace, "--window", "5000", "--skip", "0", "--warmup", "0", "--out", d.File("b"));
        Assert.True(plain.Code == 0 && zero.Code == 0, plain.Err + zero.Err);

        var a = await ReportReader.ReadSummaryAsync(d.File("a/summary.parquet"));
        var b = await ReportReader.ReadSummaryAsync(d.File("b/summary.parquet"));
        Assert.Equal(a.Select(r => r with { ReplaySeconds = 0, EventsPerSecond = 0 }), b.Select(r => r with { ReplaySeconds = 0, EventsPerSecond = 0 }));
        Assert.Equal(await ReportReader.ReadExitsAsync(d.File("a/exits.parquet")), await ReportReader.ReadExitsAsync(d.File("b/exits.parquet")));
        Assert.Equal(await ReportReader.ReadTimelineAsync(d.File("a/timeline.parquet")), await ReportReader.ReadTimelineAsync(d.File("b/timeline.parquet")));
    }

    [Fact]
    public async Task Warm_up_and_limit_leave_exactly_the_counted_rows_in_every_report()
    {
        // 12,000 rows or more: --skip 1000 --warmup 4000 --limit 3000 counts rows 5,000 to 7,999.
        using var d = Cli.Temp();
        string trace = await TraceAsync(d);
        var (code, _, stderr) = await Cli.RunAsync(trace, "--window", "2000", "--skip", "1000", "--warmup", "4000", "--limit", "3000", "--out", d.File("r"));
        Assert.True(code == 0, stderr);

        var summary = await ReportReader.ReadSummaryAsync(d.File("r/summary.parquet"));
        Assert.All(summary.Where(r => r.Phase == "all"), r => Assert.Equal(3000, r.Events));
        var timeline = await ReportReader.ReadTimelineAsync(d.File("r/timeline.parquet"));
        foreach (var engine in timeline.GroupBy(t => t.Engine))
        {
            // windows of 2,000: rows 5,000–5,999 (window 2, from the first counted row), 6,000–7,999 (window 3)
            Assert.Equal([(2L, 5000L, 5999L), (3L, 6000L, 7999L)], engine.Select(t => (t.Window, t.FirstEvent, t.LastEvent)));
        }
    }

    [Fact]
    public async Task A_skip_past_the_end_warns_that_nothing_is_counted()
    {
        using var d = Cli.Temp();
        string trace = await TraceAsync(d);
        var (code, _, stderr) = await Cli.RunAsync(trace, "-e", "ept", "--skip", "1000000000", "--out", d.File("r"));
        Assert.True(code == 0, stderr);
        Assert.Contains("replay: warning: ctxswitch.pq has no row after --skip 1000000000 and --warmup 0, so nothing is counted.", stderr);
        Assert.All(await ReportReader.ReadSummaryAsync(d.File("r/summary.parquet")), r => Assert.Equal(0, r.Events));
    }
}
