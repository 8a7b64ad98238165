using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

public sealed class RunCommandTests
{
    [Theory]
    [InlineData("ctxswitch", 1)]
    [InlineData("ctxswitch", 7)]
    [InlineData("demand", 1)]
    [InlineData("demand", 42)]
    public async Task Every_engine_passes_verify_on_generated_workloads(string workload, int seed)
    {
        using var d = Cli.Temp();
        string trace = d.File($"{workload}.pq");
        Assert.Equal(0, (await Cli.RunAsync("gen", workload, "-o", trace, "--events", "30000", "--seed", seed.ToString())).Code);
        foreach (var engine in new[]
        {
            "native", "shadow-flush", "shadow-flush:keep_global=true", "shadow-flush:prefetch=8",
            "shadow-cached", "shadow-cached:personality=kvm", "shadow-cached:oos=false", "shadow-cached:personality=kvm,oos=false",
            "shadow-cached:pool_pages=8", "shadow-cached:personality=kvm,pool_pages=8",
            "writable-pt", "writable-pt:unpin_on_dying=false",
            "ept", "ept:prepopulate=true", "ept:large_pages=true", "ept:ept_levels=5",
            "agile", "agile:nested_writes=1,interval=5000", "agile:new_nested=false,prefetch=1",
        })
        {
            var (code, _, err) = await Cli.RunAsync(trace, "--engine", engine, "--verify", "--strict", "--out", d.File("r-" + engine.Replace(':', '_')));
            Assert.True(code == 0, $"{engine}: {err}");
        }
    }

    [Fact]
    public async Task A_run_writes_the_four_reports_with_overhead_against_native_even_when_native_was_not_asked_for()
    {
        using var d = Cli.Temp();
        string trace = d.File("ctx.pq");
        await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "20000");
        var (code, stdout, err) = await Cli.RunAsync("run", trace, "--engine", "shadow-flush", "--out", d.File("r"), "--window", "5000");
        Assert.True(code == 0, err);
        foreach (var f in new[] { "summary", "exits", "timeline", "counters" })
        {
            Assert.True(File.Exists(d.File($"r/{f}.parquet")), f);
        }

        Assert.Contains("shadow-flush", stdout);
        var summary = await ReportReader.ReadSummaryAsync(d.File("r/summary.parquet"));
        Assert.All(summary, s => Assert.Equal("shadow-flush", s.Engine));
        var all = summary.Single(s => s.Phase == "all");
        Assert.True(all.Exits > 0);
        Assert.True(all.OverheadCycles > 0 && all.OverheadCycles < all.MmuCycles, "overhead is mmu minus native's (which is > 0)");
        Assert.True(all.Slowdown > 1);

        // ctxswitch marks "warmup" then "steady": every event after the first mark is in one of them.
        var phases = summary.Where(s => s.Phase != "all").ToDictionary(s => s.Phase);
        Assert.Equal(["steady", "warmup"], phases.Keys.Order());
        Assert.Equal(all.Exits, phases.Values.Sum(p => p.Exits));

        // About 20,000 events (the generator stops at the first whole turn past it) in windows of 5,000: one timeline
        // row per window, covering every event once.
        var timeline = await ReportReader.ReadTimelineAsync(d.File("r/timeline.parquet"));
        Assert.InRange(all.Events, 20_000, 20_100);
        Assert.Equal((int)Math.Ceiling(all.Events / 5000.0), timeline.Count);
        Assert.Equal(all.Accesses, timeline.Sum(w => w.Accesses));
        Assert.Equal(all.Exits, timeline.Sum(w => w.Exits));
    }

    [Fact]
    public async Task Two_runs_of_the_same_trace_give_identical_counts_and_cycles()
    {
        using var d = Cli.Temp();
        string trace = d.File("demand.pq");
        await Cli.RunAsync("gen", "demand", "-o", trace, "--events", "20000", "--seed", "3");
        await Cli.RunAsync(trace, "--out", d.File("a"));
        await Cli.RunAsync(trace, "--out", d.File("b"));
        var a = await ReportReader.ReadSummaryAsync(d.File("a/summary.parquet"));
        var b = await ReportReader.ReadSummaryAsync(d.File("b/summary.parquet"));
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i] with { ReplaySeconds = 0, EventsPerSecond = 0 }, b[i] with { ReplaySeconds = 0, EventsPerSecond = 0 });
        }

        var ea = await ReportReader.ReadExitsAsync(d.File("a/exits.parquet"));
        var eb = await ReportReader.ReadExitsAsync(d.File("b/exits.parquet"));
        Assert.Equal(ea, eb);
    }

    [Fact]
    public async Task Gen_is_deterministic_per_seed()
    {
        using var d = Cli.Temp();
        await Cli.RunAsync("gen", "ctxswitch", "-o", d.File("a.pq"), "--events", "5000", "--seed", "9");
        await Cli.RunAsync("gen", "ctxswitch", "-o", d.File("b.pq"), "--events", "5000", "--seed", "9");
        await Cli.RunAsync("gen", "ctxswitch", "-o", d.File("c.pq"), "--events", "5000", "--seed", "10");
        Assert.Equal(await File.ReadAllBytesAsync(d.File("a.pq")), await File.ReadAllBytesAsync(d.File("b.pq")));
        Assert.NotEqual(await File.ReadAllBytesAsync(d.File("a.pq")), await File.ReadAllBytesAsync(d.File("c.pq")));
    }

    [Fact]
    public async Task Generated_traces_are_well_formed_and_inspect_describes_them()
    {
        using var d = Cli.Temp();
        await Cli.RunAsync("gen", "ctxswitch", "-o", d.File("t.pq"), "--events", "10000");
        var (code, stdout, _) = await Cli.RunAsync("inspect", d.File("t.pq"));
        Assert.Equal(0, code);
        Assert.Contains("address spaces (distinct CR3 roots): 3", stdout); // init_mm and the two processes
        Assert.Contains("warnings: 0", stdout);
        Assert.Contains("replay.source = replay gen ctxswitch --seed 1 --events 10000", stdout);
    }

    [Theory]
    [InlineData("shadow-cached:personality=KVM,prefetch=auto", "shadow-cached:personality=kvm")]
    [InlineData("shadow-cached:prefetch=32,oos=off", "shadow-cached:oos=false,prefetch=32")]
    public async Task Shadow_cached_options_are_normalised_into_the_reported_engine_name(string spec, string canonical)
    {
        using var d = Cli.Temp();
        string trace = d.File("t.pq");
        await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "3000");
        var (code, _, err) = await Cli.RunAsync(trace, "--engine", spec, "--out", d.File("r"));
        Assert.True(code == 0, err);
        var summary = await ReportReader.ReadSummaryAsync(d.File("r/summary.parquet"));
        Assert.All(summary, s => Assert.Equal(canonical, s.Engine));
    }

    [Fact]
    public async Task Engines_and_profiles_list_what_is_available()
    {
        var (code, stdout, _) = await Cli.RunAsync("engines");
        Assert.Equal(0, code);
        Assert.Contains("shadow-flush", stdout);
        Assert.Contains("keep_global=false", stdout);
        Assert.Contains("prefetch=0", stdout);
        Assert.Contains("personality=xen", stdout);
        Assert.Contains("pool_pages=auto      (auto|8..", stdout);
        (code, stdout, _) = await Cli.RunAsync("profiles");
        Assert.Equal(0, code);
        Assert.Contains("skylake", stdout);
        Assert.Contains("prescott", stdout);
        Assert.Contains("nehalem", stdout);
    }

    [Fact]
    public async Task Replay_TRACE_is_short_for_replay_run_TRACE_and_subcommand_help_is_its_own()
    {
        using var d = Cli.Temp();
        string trace = d.File("t.pq");
        await Cli.RunAsync("gen", "demand", "-o", trace, "--events", "1000");
        var (code, stdout, _) = await Cli.RunAsync("--engine", "native", trace, "--out", d.File("r"));
        Assert.Equal(0, code);
        Assert.Contains("native", stdout);

        (code, stdout, _) = await Cli.RunAsync("gen", "--help");
        Assert.Equal(0, code);
        Assert.Contains(" gen <workload> [options]", stdout); // the root is named after the host executable
        Assert.DoesNotContain("<trace>", stdout);
    }
}
