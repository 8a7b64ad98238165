using Replay.Analysis.Costs;
using Replay.Analysis.Reports;
using Replay.Driver;
using Replay.Engines.Registry;

namespace Replay.Tests.Cli;

/// <summary><c>run --window 1</c> (issue 15, item 9): the spilled timeline is the one a replay kept in memory prices.</summary>
public sealed class RunWindowTests
{
    [Fact]
    public async Task At_window_1_the_timeline_written_is_the_one_an_in_memory_replay_prices_and_no_scratch_folder_remains()
    {
        // 20,000 events × every engine at --window 1: 140,000 timeline rows, 18 row groups of 8Ki. A scratch folder a
        // killed run left (a pid no process has) is removed by the next run into the folder.
        using var d = Cli.Temp();
        string trace = d.File("ctx.pq");
        Assert.Equal(0, (await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "20000")).Code);
        string dead = Directory.CreateDirectory(d.File($".r.{int.MaxValue}.{Guid.NewGuid():N}.scratch")).FullName;
        File.WriteAllText(Path.Combine(dead, "x.windows"), "left by a killed run");

        var (code, _, err) = await Cli.RunAsync("run", trace, "--window", "1", "--out", d.File("r"));
        Assert.True(code == 0, err);

        var profile = ProfileCatalog.Resolve(ProfileCatalog.DefaultName);
        var kept = await ReplayDriver.RunAsync(new ReplayRequest(trace, EngineRegistry.AllDefaults().ToList(), profile.Tlb, Window: 1));
        var expected = ReportBuilder.Build(profile, [kept.Result]);
        var timeline = await ReportReader.ReadTimelineAsync(d.File("r/timeline.parquet"));
        Assert.Equal(7 * 20_001, timeline.Count);
        Assert.Equal(expected.Timeline, timeline);
        Assert.Equal(expected.TimelineExits, await ReportReader.ReadTimelineExitsAsync(d.File("r/timeline_exits.parquet")));
        Assert.Empty(Directory.GetDirectories(d.Path, ".r.*"));
    }
}
