using System.Text.Json.Nodes;
using Replay.Analysis.Costs;
using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

public sealed class RepriceCommandTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Theory]
    [InlineData("all")]
    [InlineData("shadow-flush")] // native not reported: its walk counts ride on every summary row
    [InlineData("shadow-cached:personality=kvm")] // WITHIN_EXIT work (resyncs, prefetch) re-priced too
    public async Task Repricing_equals_a_fresh_replay_with_that_profile_exactly(string engine)
    {
        string trace = _d.File("t.pq");
        await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "6000", "--vcpus", "2"); // two vCPUs: the per-vCPU rows too
        string profile = await CheaperSkylake();

        var (code, _, err) = await Cli.RunAsync(trace, "--engine", engine, "--window", "2500", "--out", _d.File("measured"));
        Assert.True(code == 0, err);
        (code, _, err) = await Cli.RunAsync(trace, "--engine", engine, "--window", "2500", "--profile", profile, "--out", _d.File("fresh"));
        Assert.True(code == 0, err);
        (code, _, err) = await Cli.RunAsync("reprice", _d.File("measured"), "--profile", profile, "--out", _d.File("repriced"));
        Assert.True(code == 0, err);
        Assert.Empty(err); // same TLB geometry: no note

        var fresh = await ReportReader.ReadSummaryAsync(_d.File("fresh/summary.parquet"));
        var repriced = await ReportReader.ReadSummaryAsync(_d.File("repriced/summary.parquet"));
        var measured = await ReportReader.ReadSummaryAsync(_d.File("measured/summary.parquet"));
        Assert.Equal(fresh.Count, repriced.Count);
        for (int i = 0; i < fresh.Count; i++)
        {
            // Timing is the one thing a fresh run measures anew; the re-priced report keeps the measured run's.
            Assert.Equal(fresh[i] with { ReplaySeconds = 0, EventsPerSecond = 0 }, repriced[i] with { ReplaySeconds = 0, EventsPerSecond = 0 });
            Assert.Equal(measured[i].ReplaySeconds, repriced[i].ReplaySeconds);
        }

        Assert.NotEqual(measured.Select(r => r.MmuCycles), repriced.Select(r => r.MmuCycles)); // the costs did change
        Assert.Equal(await ReportReader.ReadExitsAsync(_d.File("fresh/exits.parquet")), await ReportReader.ReadExitsAsync(_d.File("repriced/exits.parquet")));
        Assert.Equal(await ReportReader.ReadTimelineAsync(_d.File("fresh/timeline.parquet")), await ReportReader.ReadTimelineAsync(_d.File("repriced/timeline.parquet")));
        Assert.Equal(await ReportReader.ReadTimelineExitsAsync(_d.File("fresh/timeline_exits.parquet")), await ReportReader.ReadTimelineExitsAsync(_d.File("repriced/timeline_exits.parquet")));
        Assert.Equal(await ReportReader.ReadCountersAsync(_d.File("fresh/counters.parquet")), await ReportReader.ReadCountersAsync(_d.File("repriced/counters.parquet")));
        var freshVcpus = await ReportReader.ReadVcpusAsync(_d.File("fresh/vcpus.parquet"));
        Assert.Equal([0, 1], freshVcpus.Select(v => v.Vcpu).Distinct().Order());
        Assert.Equal(freshVcpus, await ReportReader.ReadVcpusAsync(_d.File("repriced/vcpus.parquet")));
        Assert.NotEqual(freshVcpus, await ReportReader.ReadVcpusAsync(_d.File("measured/vcpus.parquet"))); // the costs did change per vCPU too
        Assert.Equal(await ReportReader.ReadVcpuExitsAsync(_d.File("fresh/vcpu_exits.parquet")), await ReportReader.ReadVcpuExitsAsync(_d.File("repriced/vcpu_exits.parquet")));
        var metadata = await ReportReader.ReadMetadataAsync(_d.File("repriced/summary.parquet"));
        Assert.Contains("\"skylake-cheaper\"", metadata["replay.profile"]);
    }

    [Fact]
    public async Task Repricing_with_another_TLB_geometry_says_so_and_still_prices_every_row()
    {
        string trace = _d.File("t.pq");
        await Cli.RunAsync("gen", "demand", "-o", trace, "--events", "3000");
        await Cli.RunAsync(trace, "--out", _d.File("measured"));
        var (code, stdout, err) = await Cli.RunAsync("reprice", _d.File("measured"), "--profile", "nehalem", "--out", _d.File("nehalem"));
        Assert.Equal(0, code);
        Assert.Contains("re-priced with profile nehalem", stdout);
        Assert.Contains("another TLB geometry", err);
        var rows = await ReportReader.ReadSummaryAsync(_d.File("nehalem/summary.parquet"));
        Assert.All(rows, r => Assert.Equal("nehalem", r.Profile));
    }

    [Fact]
    public async Task A_missing_report_or_a_profile_without_a_needed_handler_is_an_error()
    {
        var (code, _, err) = await Cli.RunAsync("reprice", _d.File("nope"), "--profile", "skylake", "--out", _d.File("x"));
        Assert.Equal(1, code);
        Assert.Contains("no such report folder", err);

        string trace = _d.File("t.pq");
        await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "3000");
        await Cli.RunAsync(trace, "--engine", "shadow-flush", "--out", _d.File("measured"));
        var json = JsonNode.Parse(ProfileCatalog.Resolve("skylake").Json)!;
        json["handlers"]!.AsObject().Remove("shadow_fill");
        json["sources"]!.AsObject().Remove("handlers.shadow_fill.fixed");
        json["sources"]!.AsObject().Remove("handlers.shadow_fill.per_unit");
        await File.WriteAllTextAsync(_d.File("partial.json"), json.ToJsonString());
        (code, _, err) = await Cli.RunAsync("reprice", _d.File("measured"), "--profile", _d.File("partial.json"), "--out", _d.File("x"));
        Assert.Equal(1, code);
        Assert.Contains("shadow_fill", err);
        Assert.False(Directory.Exists(_d.File("x")) && Directory.EnumerateFiles(_d.File("x")).Any());
    }

    /// <summary>Skylake's geometry with every cost changed: a re-priced report must match a fresh run exactly.</summary>
    private async Task<string> CheaperSkylake()
    {
        var json = JsonNode.Parse(ProfileCatalog.Resolve("skylake").Json)!;
        json["name"] = "skylake-cheaper";
        json["transitions"]!["vmexit"] = 612.5;
        json["walk"]!["l2_cycles"] = 13;
        json["guest"]!["cycles_per_access"] = 3;
        foreach (var (_, handler) in json["handlers"]!.AsObject())
        {
            handler!["fixed"] = handler["fixed"]!.GetValue<double>() * 0.7;
        }

        string path = _d.File("cheaper.json");
        await File.WriteAllTextAsync(path, json.ToJsonString());
        return path;
    }
}
