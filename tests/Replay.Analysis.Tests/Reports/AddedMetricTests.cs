using Parquet;
using Replay.Analysis.Html;
using Replay.Analysis.Reports;

namespace Replay.Analysis.Tests.Reports;

/// <summary>
/// One metric added the way an engine author adds one (a declaration with a getter and setter on EngineStats),
/// through <see cref="MetricSet.With"/> so the program's own set stays as it is: it reaches the schema, reprice,
/// compare and the HTML page without any of them naming it.
/// </summary>
public class AddedMetricTests
{
    /// <summary>Shadow pages still allocated at a phase's end: the trace's stats have 4 for phase all, 0 for boot and run.</summary>
    private static readonly ReportMetric<long> ShadowPagesEnd = new("shadow_pages_end", "pages",
        MetricSources.Count(s => s.ShadowPages, (s, v) => s.ShadowPages = v))
    {
        Adds = MetricAggregation.Level, Compare = new(CompareRule.HigherIsWorse), Show = new(),
    };

    private static readonly MetricSet Metrics = ReportMetrics.All.With(ShadowPagesEnd);

    private static readonly ReportProvenance Provenance = new("0.1.0", "deadbeef", "replay t.pq", "abc123");

    [Fact]
    public async Task It_is_a_summary_column_after_the_others_and_reads_back()
    {
        using var dir = new TempDir();
        var tables = ReportBuilder.Build(TestProfiles.Round, [ReportBuilderTests.Trace(reportNative: true)], Metrics);
        await ReportWriter.WriteAsync(dir.Path, tables, TestProfiles.Round, Provenance);

        await using (var reader = await ParquetReader.CreateAsync(dir.File(ReportWriter.SummaryFile)))
        {
            var last = reader.Metadata!.Schema[^1];
            Assert.Equal(("shadow_pages_end", Parquet.Meta.Type.INT64, Parquet.Meta.FieldRepetitionType.REQUIRED), (last.Name, last.Type, last.RepetitionType));
        }

        var rows = await ReportReader.ReadSummaryAsync(dir.File(ReportWriter.SummaryFile), Metrics, default);
        Assert.Equal([0L, 0L, 0L, 4L, 0L, 0L], rows.Select(r => r[ShadowPagesEnd])); // native all/boot/run, shadow all/boot/run
        Assert.Equal(tables.Summary, rows);
        Assert.Null(ReportMetrics.All.Find("shadow_pages_end")); // the program's own set is untouched
    }

    [Fact]
    public async Task Reprice_restores_it_into_the_stats_and_writes_it_again()
    {
        using var dir = new TempDir();
        var tables = ReportBuilder.Build(TestProfiles.Round, [ReportBuilderTests.Trace(reportNative: false)], Metrics);
        await ReportWriter.WriteAsync(dir.Path, tables, TestProfiles.Round, Provenance);

        var repriced = await Repricer.RepriceAsync(dir.Path, TestProfiles.Round, Metrics, default);
        Assert.Equal(tables.Summary, repriced.Tables.Summary);
        Assert.Equal([4L, 0L, 0L], repriced.Tables.Summary.Select(r => r[ShadowPagesEnd]));

        using var outDir = new TempDir();
        await ReportWriter.WriteAsync(outDir.Path, repriced.Tables, TestProfiles.Round, Provenance);
        var reread = await ReportReader.ReadSummaryAsync(outDir.File(ReportWriter.SummaryFile), Metrics, default);
        Assert.Equal(4L, reread[0][ShadowPagesEnd]);
    }

    [Fact]
    public void Compare_judges_it_as_declared_and_skips_it_where_a_side_lacks_it()
    {
        var base_ = ReportBuilder.Build(TestProfiles.Round, [ReportBuilderTests.Trace(reportNative: false)], Metrics).Summary;
        var current = base_.Select(r => r with { Values = r.Values.With(ShadowPagesEnd, r[ShadowPagesEnd] + 1) }).ToList();

        var rows = Comparer.Compare(base_, current, new CompareOptions(MaxSlowdownPct: 10, MinSeconds: 0));
        Assert.Equal(["regressed", "regressed", "regressed"], rows.Where(r => r.Metric == "shadow_pages_end").Select(r => r.Status));
        Assert.Equal("shadow_pages_end", rows[6].Metric); // after the six metrics compared before it

        // A report of a version that did not have the metric: not recorded, so not compared.
        var older = ReportBuilder.Build(TestProfiles.Round, [ReportBuilderTests.Trace(reportNative: false)]).Summary;
        var skipped = Comparer.Compare(older, current, new CompareOptions()).Where(r => r.Metric == "shadow_pages_end").ToList();
        Assert.Equal([Comparer.NotRecorded, Comparer.NotRecorded, Comparer.NotRecorded], skipped.Select(r => r.Status));
        Assert.All(skipped, r => Assert.True(double.IsNaN(r.Base) && double.IsNaN(r.Delta)));
        Assert.Equal([5.0, 1.0, 1.0], skipped.Select(r => r.Current));
    }

    [Fact]
    public void The_HTML_summary_shows_it()
    {
        var tables = ReportBuilder.Build(TestProfiles.Round, [ReportBuilderTests.Trace(reportNative: true)], Metrics);
        string page = HtmlReport.Render(tables.Summary, tables.Exits, tables.Timeline.ToList(), new Dictionary<string, string>());
        Assert.Contains("<th>events_per_second</th><th>shadow_pages_end</th></tr>", page);
        Assert.Contains("<td>4</td></tr>", page); // shadow-flush's row ends with it
    }
}
