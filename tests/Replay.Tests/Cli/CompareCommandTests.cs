using DuckDB.NET.Data;
using Replay.Analysis.Reports;
using Replay.Engines.Registry;

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
        Assert.Equal(EngineRegistry.All.Count * 3 * 5, rows.Count); // every registered engine x 3 phases (all, warmup, steady), 5 count metrics each; no throughput by default
    }

    [Fact]
    public async Task Two_runs_of_the_same_trace_compare_clean_five_times_out_of_five()
    {
        // The report of issue 14: every comparison of two runs of one trace failed on events_per_second noise. The
        // default gate is the deterministic counts, so runs that differ only in their timings always compare clean.
        string trace = _d.File("t.pq");
        await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "4000");
        for (int i = 0; i < 5; i++)
        {
            var (c1, _, e1) = await Cli.RunAsync(trace, "--engine", "all", "--out", _d.File($"a{i}"));
            var (c2, _, e2) = await Cli.RunAsync(trace, "--engine", "all", "--out", _d.File($"b{i}"));
            Assert.True(c1 == 0 && c2 == 0, e1 + e2);
            var (code, stdout, err) = await Cli.RunAsync("compare", _d.File($"a{i}"), _d.File($"b{i}"), "--strict");
            Assert.True(code == 0, stdout + err);
            Assert.Contains($"{EngineRegistry.All.Count * 3} rows compared: 0 regression(s)", stdout);
        }
    }

    [Fact]
    public async Task Throughput_is_gated_only_when_asked_on_phase_all_once_and_not_for_short_runs()
    {
        string a = await Report("a", events: 3000);
        string slow = _d.File("slow");
        await Rewrite(a, slow, "* REPLACE (events_per_second / 2 AS events_per_second, replay_seconds * 2 AS replay_seconds)");

        // Default: throughput is not compared at all.
        var (code, stdout, _) = await Cli.RunAsync("compare", a, slow, "--out", _d.File("c0"));
        Assert.Equal(0, code);
        Assert.DoesNotContain(Comparer.ThroughputMetric, stdout);

        // Asked for, with the noise floor at 0 s: a halved rate is one regression per engine (phase all), not one per phase.
        (code, stdout, _) = await Cli.RunAsync("compare", a, slow, "--max-slowdown", "10", "--min-seconds", "0", "--out", _d.File("c1"));
        Assert.Equal(1, code);
        var rows = await ReportReader.ReadCompareAsync(_d.File("c1/compare.parquet"));
        var gated = rows.Where(r => r.Metric == Comparer.ThroughputMetric).ToList();
        Assert.Equal(EngineRegistry.All.Count, gated.Count);
        Assert.All(gated, r => Assert.Equal(("all", "regressed", -50.0), (r.Phase, r.Status, Math.Round(r.DeltaPct, 9))));
        Assert.Contains($"{EngineRegistry.All.Count} regression(s)", stdout);

        // With the default 1 s floor these sub-second runs are too short to gate.
        (code, stdout, _) = await Cli.RunAsync("compare", a, slow, "--max-slowdown", "10", "--out", _d.File("c2"));
        Assert.Equal(0, code);
        Assert.Contains($"too_short       events_per_second: {EngineRegistry.All.Count} run(s) shorter than --min-seconds", stdout);
        rows = await ReportReader.ReadCompareAsync(_d.File("c2/compare.parquet"));
        Assert.Equal(EngineRegistry.All.Count, rows.Count(r => r.Status == Comparer.TooShort));
    }

    [Fact]
    public async Task Another_trace_under_the_same_name_is_reported_as_that_not_as_regressions()
    {
        string small = await Report("small", events: 5000);
        string big = await Report("big", events: 6000); // same trace name t.pq, another trace
        var (code, stdout, err) = await Cli.RunAsync("compare", small, big);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("replayed different traces named t.pq (sha256 ", err);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.False(File.Exists(Path.Combine(big, "compare.parquet")));
    }

    [Fact]
    public async Task Another_profile_is_reported_as_that_not_as_zero_rows_compared()
    {
        string a = await Report("a", events: 3000, engine: "shadow-flush");
        var (code, _, err) = await Cli.RunAsync("reprice", a, "--profile", "nehalem", "--out", _d.File("n"));
        Assert.True(code == 0, err);
        (code, var stdout, err) = await Cli.RunAsync("compare", a, _d.File("n"));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("base was priced with profile skylake and current with nehalem: re-price one ('replay reprice') to compare them.", err);
    }

    [Fact]
    public async Task Json_prints_every_comparison_row()
    {
        string a = await Report("a", events: 2000, engine: "ept");
        var (code, stdout, _) = await Cli.RunAsync("compare", a, a, "--json", "--out", _d.File("c"));
        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        var rows = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(3 * 5, rows.Count); // ept x (all, warmup, steady) x 5 count metrics
        Assert.All(rows, r => Assert.Equal("same", r.GetProperty("status").GetString()));
        Assert.Equal(0, rows[0].GetProperty("delta").GetDouble());
    }

    [Fact]
    public async Task More_exits_than_the_baseline_is_a_regression_unless_the_threshold_allows_it()
    {
        string small = await Report("small", events: 5000);
        string big = _d.File("big"); // the same trace, its counts and cycles 20% higher (as a costlier engine build would make them)
        await Rewrite(small, big, "* REPLACE (exits * 6 // 5 AS exits, mmu_cycles * 1.2 AS mmu_cycles, overhead_cycles * 1.2 AS overhead_cycles, guest_faults * 6 // 5 AS guest_faults)");

        var (code, stdout, _) = await Cli.RunAsync("compare", small, big, "--out", _d.File("c1"));
        Assert.Equal(1, code);
        Assert.Contains("regressed", stdout);
        var rows = await ReportReader.ReadCompareAsync(_d.File("c1/compare.parquet"));
        var exits = rows.Single(x => x.Engine == "shadow-flush" && x.Phase == "all" && x.Metric == "exits");
        Assert.Equal("regressed", exits.Status);
        Assert.Equal(exits.Current - exits.Base, exits.Delta);
        Assert.Equal((exits.Current - exits.Base) / exits.Base * 100, exits.DeltaPct, 9);

        // The other way round everything that changed got better.
        (code, _, _) = await Cli.RunAsync("compare", big, small, "--out", _d.File("c2"));
        Assert.Equal(0, code);

        // A generous threshold lets a ~20% increase through.
        (code, _, _) = await Cli.RunAsync("compare", small, big, "--max-increase", "50", "--out", _d.File("c3"));
        Assert.Equal(0, code);
    }

    [Fact]
    public async Task A_vcpu_whose_counts_grew_is_a_regression_named_by_its_vcpu()
    {
        // A 2-vCPU trace; the current report is the base with vCPU 1's exits 20% higher in vcpus.parquet only (as an
        // engine change that moved work onto one vCPU would make them): the summaries compare clean, vCPU 1 regresses.
        string trace = _d.File("two.pq");
        await Cli.RunAsync("gen", "kernel-build", "-o", trace, "--events", "5000", "--vcpus", "2");
        var (code, _, err) = await Cli.RunAsync(trace, "--engine", "shadow-flush", "--out", _d.File("base"));
        Assert.True(code == 0, err);
        string current = _d.File("current");
        Directory.CreateDirectory(current);
        foreach (var f in Directory.GetFiles(_d.File("base"), "*.parquet").Where(f => Path.GetFileName(f) != "vcpus.parquet"))
        {
            File.Copy(f, Path.Combine(current, Path.GetFileName(f)));
        }

        using (var db = new DuckDBConnection("DataSource=:memory:"))
        {
            await db.OpenAsync();
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"COPY (SELECT * REPLACE (CASE WHEN vcpu = 1 THEN exits * 6 // 5 ELSE exits END AS exits) FROM read_parquet('{_d.File("base/vcpus.parquet")}')) " +
                $"TO '{Path.Combine(current, "vcpus.parquet")}' (FORMAT PARQUET)";
            await cmd.ExecuteNonQueryAsync();
        }

        (code, var stdout, _) = await Cli.RunAsync("compare", _d.File("base"), current, "--out", _d.File("c"));
        Assert.Equal(1, code);
        var rows = await ReportReader.ReadCompareAsync(_d.File("c/compare.parquet"));
        var regressed = Assert.Single(rows, r => r.Status == "regressed" && r.Phase == "all");
        Assert.Equal((1L, "exits", "shadow-flush"), (regressed.Vcpu, regressed.Metric, regressed.Engine));
        Assert.Equal(Math.Floor(regressed.Base * 6 / 5), regressed.Current);
        Assert.All(rows.Where(r => r.Vcpu is null), r => Assert.Equal("same", r.Status));
        Assert.All(rows.Where(r => r.Vcpu == 0), r => Assert.Equal("same", r.Status));
        Assert.Contains("all v1", stdout, StringComparison.Ordinal);

        // A baseline written before the per-vCPU files existed: the summaries are compared, the vCPUs are not, and it says so.
        File.Delete(_d.File("base/vcpus.parquet"));
        (code, stdout, _) = await Cli.RunAsync("compare", _d.File("base"), current, "--out", _d.File("c2"));
        Assert.Equal(0, code);
        Assert.Contains("per vCPU: no vcpus.parquet in base, not compared", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rows_on_one_side_only_are_listed_and_fail_only_with_strict()
    {
        string both = await Report("both", events: 3000);
        string one = await Report("one", events: 3000, engine: "shadow-flush");
        var (code, stdout, _) = await Cli.RunAsync("compare", both, one, "--out", _d.File("c1"));
        Assert.Equal(0, code);
        Assert.Contains("only_in_base", stdout);
        (code, _, _) = await Cli.RunAsync("compare", both, one, "--strict", "--out", _d.File("c2"));
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
        var rows = Comparer.Compare([b], [c], new CompareOptions(MaxSlowdownPct: limit, MinSeconds: 0));
        Assert.Equal(status, rows.Single(r => r.Metric == Comparer.ThroughputMetric).Status);
        Assert.DoesNotContain(Comparer.Compare([b], [c], new CompareOptions()), r => r.Metric == Comparer.ThroughputMetric);
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

    [Fact]
    public async Task A_summary_that_repeats_a_key_is_one_sentence_not_an_internal_error()
    {
        string a = await Report("dup", events: 2000);
        string twice = _d.File("twice");
        string summary = Path.Combine(a, "summary.parquet");
        await Rewrite(a, twice, $"* FROM read_parquet('{summary}') WHERE phase = 'all' UNION ALL SELECT *");

        var (code, stdout, err) = await Cli.RunAsync("compare", a, twice);

        Assert.Equal((1, ""), (code, stdout));
        Assert.Matches($"^replay: {System.Text.RegularExpressions.Regex.Escape(Path.Combine(twice, "summary.parquet"))}: rows 0 and [0-9]+ are both trace t.pq, engine [a-z-]+, profile skylake, phase all; a summary has one row per key, so it cannot be compared\\.\\s*$", err);
    }

    [Fact]
    public async Task A_column_of_the_wrong_kind_is_named_in_parquet_terms_not_dotnet_types()
    {
        string a = await Report("kind", events: 2000);
        string text = _d.File("text");
        await Rewrite(a, text, "* REPLACE (CAST(exits AS VARCHAR) AS exits)");

        var (code, _, err) = await Cli.RunAsync("compare", a, text);

        Assert.Equal(1, code);
        Assert.True(err.Contains("column 'exits' holds binary values where an integer column was expected", StringComparison.Ordinal), err); // DuckDB's VARCHAR as Parquet.Net maps it
        Assert.DoesNotContain("`1", err, StringComparison.Ordinal);
    }

    /// <summary>Report <paramref name="from"/> copied to <paramref name="to"/> with its summary rewritten by DuckDB as <c>SELECT {select}</c>.</summary>
    private static async Task Rewrite(string from, string to, string select)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from, "*.parquet").Where(f => Path.GetFileName(f) != "summary.parquet"))
        {
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        }

        using var db = new DuckDBConnection("DataSource=:memory:");
        await db.OpenAsync();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"COPY (SELECT {select} FROM read_parquet('{Path.Combine(from, "summary.parquet")}')) TO '{Path.Combine(to, "summary.parquet")}' (FORMAT PARQUET)";
        await cmd.ExecuteNonQueryAsync();
    }

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
