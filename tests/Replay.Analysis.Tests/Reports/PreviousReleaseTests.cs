using Replay.Analysis.Costs;
using Replay.Analysis.Reports;

namespace Replay.Analysis.Tests.Reports;

/// <summary>
/// A report the previous release wrote (Data/v1-ctxswitch: ctxswitch, 3,000 events, every engine, windows of 1,000;
/// see Data/README.md) still loads, compares and re-prices, as the nightly baselines and users' reports must.
/// </summary>
public class PreviousReleaseTests
{
    internal static string V1 { get; } = Path.Combine(AppContext.BaseDirectory, "Reports", "Data", "v1-ctxswitch");

    internal static string File(string name) => Path.Combine(V1, name);

    /// <summary>The metrics added since that release: the fixture does not record them.</summary>
    internal static readonly string[] AddedSince =
    [
        "instructions", "insns", "walk_refs_l1", "walk_refs_l2", "walk_refs_l3", "walk_refs_mem", "nested_tlb_hits",
        "native_walk_refs_l1", "native_walk_refs_l2", "native_walk_refs_l3", "native_walk_refs_mem",
    ];

    /// <summary>
    /// A profile in that release's format (a flat walk.ref_cycles, no instructions, no cache section): the fixture's own
    /// skylake profile with dearer exits, so every count it prices is one the fixture recorded.
    /// </summary>
    internal static CostProfile OlderFormatProfile()
    {
        var meta = ReportReader.ReadMetadataAsync(File(ReportWriter.SummaryFile)).GetAwaiter().GetResult();
        var json = System.Text.Json.Nodes.JsonNode.Parse(meta["replay.profile"])!;
        json["name"] = "skylake-v1-dearer";
        json["transitions"]!["vmexit"] = 900;
        json["walk"]!["ref_cycles"] = 13;
        return ProfileCatalog.Parse(json.ToJsonString(), "older-format test profile");
    }

    [Fact]
    public async Task Every_file_loads_with_every_metric_of_its_release_recorded_and_reads_as_version_1()
    {
        var meta = await ReportReader.ReadMetadataAsync(File(ReportWriter.SummaryFile));
        Assert.False(meta.ContainsKey(ReportWriter.SchemaVersionKey));
        Assert.Equal(1, ReportReader.SchemaVersion(meta));

        var summary = await ReportReader.ReadSummaryAsync(File(ReportWriter.SummaryFile));
        Assert.Equal(15, summary.Count); // 5 engines × phases all, warmup, steady
        Assert.All(summary, r => Assert.Equal(AddedSince.Order(StringComparer.Ordinal), r.Values.NotRecorded().Select(m => m.Name).Order(StringComparer.Ordinal)));
        var flush = summary.Single(r => r.Engine == "shadow-flush" && r.Phase == "all");
        Assert.Equal((809L, 108L, 797L, 1_624L, 14L), (flush.Exits, flush.GuestFaults, flush.TlbMisses, flush.WalkRefs, flush.ShadowPagesPeak)); // as that release printed

        var timeline = await ReportReader.ReadTimelineAsync(File(ReportWriter.TimelineFile));
        Assert.Equal(15, timeline.Count); // 3 windows × 5 engines
        Assert.All(timeline, r => Assert.All(r.Values.NotRecorded(), m => Assert.Contains(m.Name, AddedSince)));
        Assert.NotEmpty(await ReportReader.ReadExitsAsync(File(ReportWriter.ExitsFile)));
        Assert.NotEmpty(await ReportReader.ReadTimelineExitsAsync(File(ReportWriter.TimelineExitsFile)));
        Assert.NotEmpty(await ReportReader.ReadCountersAsync(File(ReportWriter.CountersFile)));
    }

    [Fact]
    public async Task Compared_with_itself_nothing_changed_and_nothing_was_skipped()
    {
        var summary = await ReportReader.ReadSummaryAsync(File(ReportWriter.SummaryFile));
        var rows = Comparer.Compare(summary, summary, new CompareOptions());
        Assert.Equal(15 * 5, rows.Count); // 5 count metrics per row; throughput only when asked (--max-slowdown)
        Assert.All(rows, r => Assert.Equal("same", r.Status));
    }

    [Fact]
    public async Task Repriced_with_the_profile_it_was_measured_with_every_table_is_unchanged()
    {
        var meta = await ReportReader.ReadMetadataAsync(File(ReportWriter.SummaryFile));
        var repriced = await Repricer.RepriceAsync(V1, ProfileCatalog.Parse(meta["replay.profile"]));

        Assert.Equal(await ReportReader.ReadSummaryAsync(File(ReportWriter.SummaryFile)), repriced.Tables.Summary);
        Assert.Equal(await ReportReader.ReadExitsAsync(File(ReportWriter.ExitsFile)), repriced.Tables.Exits);
        Assert.Equal(await ReportReader.ReadTimelineAsync(File(ReportWriter.TimelineFile)), repriced.Tables.Timeline);
        Assert.Equal(await ReportReader.ReadTimelineExitsAsync(File(ReportWriter.TimelineExitsFile)), repriced.Tables.TimelineExits);
        Assert.Equal(await ReportReader.ReadCountersAsync(File(ReportWriter.CountersFile)), repriced.Tables.Counters);
    }

    [Fact]
    public async Task Repriced_with_another_profile_it_keeps_its_counts_and_is_written_as_the_current_version()
    {
        var original = await ReportReader.ReadSummaryAsync(File(ReportWriter.SummaryFile));
        var other = OlderFormatProfile();
        var repriced = await Repricer.RepriceAsync(V1, other);
        using var dir = new TempDir();
        await ReportWriter.WriteAsync(dir.Path, repriced.Tables, other, new("0.1.0", "deadbeef", "replay reprice", repriced.TraceSha256));

        var rows = await ReportReader.ReadSummaryAsync(dir.File(ReportWriter.SummaryFile));
        Assert.Equal(original.Select(r => (r.Engine, r.Phase, r.Events, r.Exits, r.WalkRefs)), rows.Select(r => (r.Engine, r.Phase, r.Events, r.Exits, r.WalkRefs)));
        Assert.NotEqual(original.Select(r => r.MmuCycles), rows.Select(r => r.MmuCycles));
        Assert.Equal(ReportWriter.SchemaVersion, ReportReader.SchemaVersion(await ReportReader.ReadMetadataAsync(dir.File(ReportWriter.SummaryFile))));
    }

    [Fact]
    public async Task A_current_profile_that_prices_what_the_report_never_recorded_refuses_and_names_it()
    {
        // The built-in profiles price instructions and walk references by cache level, which that release did not count.
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Repricer.RepriceAsync(V1, ProfileCatalog.Resolve("prescott")));
        Assert.Contains("insns", e.Message, StringComparison.Ordinal);
        Assert.Contains("walk_refs_mem", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_metric_added_since_is_not_recorded_skipped_by_compare_and_left_out_of_its_reprice()
    {
        // What a later version with one more count sees when it opens this report.
        var later = ReportMetrics.All.With(new ReportMetric<long>("insns_later", "instructions", MetricSources.Count(s => s.ShadowPages, (s, v) => s.ShadowPages = v))
        {
            Compare = new(CompareRule.HigherIsWorse),
        });
        var summary = await ReportReader.ReadSummaryAsync(File(ReportWriter.SummaryFile), later, default);
        var insns = later.Find("insns_later")!;
        Assert.All(summary, r => Assert.False(r.IsRecorded(insns)));

        var compared = Comparer.Compare(summary, summary, new CompareOptions());
        Assert.Equal(15, compared.Count(r => r.Metric == "insns_later" && r.Status == Comparer.NotRecorded));
        Assert.All(compared.Where(r => r.Metric != "insns_later"), r => Assert.Equal("same", r.Status));

        var meta = await ReportReader.ReadMetadataAsync(File(ReportWriter.SummaryFile));
        var profile = ProfileCatalog.Parse(meta["replay.profile"]);
        var repriced = await Repricer.RepriceAsync(V1, profile, later, default);
        Assert.All(repriced.Tables.Summary, r => Assert.False(r.IsRecorded(insns)));
        using var dir = new TempDir();
        await ReportWriter.WriteAsync(dir.Path, repriced.Tables, profile, new("0.1.0", "deadbeef", "replay reprice", repriced.TraceSha256));
        var columns = (await ReportReader.ReadColumnsAsync(dir.File(ReportWriter.SummaryFile), later.SummaryTable)).Present;
        Assert.DoesNotContain("insns_later", columns);
        Assert.Equal("native_psc_hits", columns[^1]);
    }
}
