using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

public sealed class CompareCommandTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public async Task A_report_compared_with_itself_has_no_regression()
    {
        string r = await Report("a", events: 4000);
        var (code, stdout, err) = await Cli.RunAsync("compare", r, r);
        Assert.True(code == 0, err);
        Assert.Contains("0 regression(s)", stdout);
        var rows = await ReportReader.ReadCompareAsync(Path.Combine(r, "compare.parquet"));
        Assert.All(rows, x => Assert.Equal("same", x.Status));
        Assert.Equal(Replay.Engines.Contract.EngineRegistry.All.Count * 3 * 6, rows.Count); // every engine x 3 phases (all, warmup, steady) summary rows, 6 metrics each
    }

    [Fact]
    public async Task More_exits_than_the_baseline_is_a_regression_unless_the_threshold_allows_it()
    {
        string small = await Report("small", events: 5000);
        string big = await Report("big", events: 6000); // same trace name, longer: more exits, cycles, faults

        var (code, stdout, _) = await Cli.RunAsync("compare", small, big, "--max-slowdown", "100", "--out", _d.File("c1"));
        Assert.Equal(1, code);
        Assert.Contains("regressed", stdout);
        var rows = await ReportReader.ReadCompareAsync(_d.File("c1/compare.parquet"));
        var exits = rows.Single(x => x.Engine == "shadow-flush" && x.Phase == "all" && x.Metric == "exits");
        Assert.Equal("regressed", exits.Status);
        Assert.Equal(exits.Current - exits.Base, exits.Delta);
        Assert.Equal((exits.Current - exits.Base) / exits.Base * 100, exits.DeltaPct, 9);

        // The other way round everything that changed got better.
        (code, _, _) = await Cli.RunAsync("compare", big, small, "--max-slowdown", "100", "--out", _d.File("c2"));
        Assert.Equal(0, code);

        // A generous threshold lets a ~20% increase through.
        (code, _, _) = await Cli.RunAsync("compare", small, big, "--max-increase", "50", "--max-slowdown", "100", "--out", _d.File("c3"));
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task Rows_on_one_side_only_are_listed_and_fail_only_with_strict()
    {
        string both = await Report("both", events: 3000);
        string one = await Report("one", events: 3000, engine: "shadow-flush");
        var (code, stdout, _) = await Cli.RunAsync("compare", both, one, "--max-slowdown", "100", "--out", _d.File("c1"));
        Assert.Equal(0, code);
        Assert.Contains("only_in_base", stdout);
        (code, _, _) = await Cli.RunAsync("compare", both, one, "--max-slowdown", "100", "--strict", "--out", _d.File("c2"));
        Assert.Equal(1, code);
    }

    [Fact]
    public async Task Bad_arguments_are_clear_errors()
    {
        string r = await Report("a", events: 2000);
        var (code, _, err) = await Cli.RunAsync("compare", r, _d.File("missing"));
        Assert.Equal(1, code);
        Assert.Contains("no such report folder", err);

        (code, _, _) = await Cli.RunAsync("compare", r, r, "--max-increase", "-5");
        Assert.Equal(2, code);

        // A summary without the columns this version reads (e.g. another tool's file) is named as such.
        Directory.CreateDirectory(_d.File("odd"));
        File.Copy(Path.Combine(r, "counters.parquet"), _d.File("odd/summary.parquet"));
        (code, _, err) = await Cli.RunAsync("compare", r, _d.File("odd"));
        Assert.Equal(1, code);
        Assert.Contains("not a summary this version can compare", err);
    }

    [Theory]
    [InlineData(100, 95, 10, "worse")]      // -5% within a 10% allowance
    [InlineData(100, 80, 10, "regressed")]  // -20%
    [InlineData(100, 120, 10, "better")]
    [InlineData(100, 100, 0, "same")]
    public void Throughput_regresses_when_it_drops_by_more_than_the_allowed_slowdown(double before, double after, double limit, string status)
    {
        var b = Row(eventsPerSecond: before);
        var c = Row(eventsPerSecond: after);
        var rows = Comparer.Compare([b], [c], new CompareOptions(MaxSlowdownPct: limit));
        Assert.Equal(status, rows.Single(r => r.Metric == Comparer.ThroughputMetric).Status);
    }

    [Fact]
    public void A_rise_in_negative_overhead_is_worse_not_better()
    {
        // -100 -> -50 cycles: the engine now costs 50 cycles more than before relative to native.
        var rows = Comparer.Compare([Row(overhead: -100)], [Row(overhead: -50)], new CompareOptions());
        var r = rows.Single(x => x.Metric == "overhead_cycles");
        Assert.Equal(50, r.DeltaPct);
        Assert.Equal("regressed", r.Status);
    }

    private static SummaryRow Row(double eventsPerSecond = 1, double overhead = 0) => new()
    {
        Trace = "t.pq", TraceSha256 = "", Engine = "shadow-flush", Profile = "skylake", Phase = "all",
        EventsPerSecond = eventsPerSecond, OverheadCycles = overhead,
    };

    private async Task<string> Report(string name, int events, string engine = "all")
    {
        string dir = _d.File(name);
        Directory.CreateDirectory(dir);
        string trace = Path.Combine(dir, "t.pq");
        await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", events.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var (code, _, err) = await Cli.RunAsync(trace, "--engine", engine, "--out", Path.Combine(dir, "report"));
        Assert.True(code == 0, err);
        return Path.Combine(dir, "report");
    }
}
