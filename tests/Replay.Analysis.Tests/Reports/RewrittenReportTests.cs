using Parquet;
using Replay.Analysis.Costs;
using Replay.Analysis.Reports;

namespace Replay.Analysis.Tests.Reports;

/// <summary>
/// The previous release's report after a trip through DuckDB: every column OPTIONAL, some integers narrowed or made
/// unsigned, a column dropped, nulls, rows filtered. What it still holds reads exactly; what it lost is not recorded.
/// </summary>
public sealed class RewrittenReportTests : IDisposable
{
    private readonly TempDir _d = new();

    public void Dispose() => _d.Dispose();

    // A profile the previous release's report can be re-priced with exactly (it prices only counts it recorded).
    private static CostProfile Prescott { get; } = PreviousReleaseTests.OlderFormatProfile();

    [Fact]
    public async Task OPTIONAL_columns_other_integer_widths_and_unknown_columns_read_as_the_original()
    {
        string dir = _d.File("duck");
        await DuckDb.RewriteAsync(PreviousReleaseTests.V1, dir, DuckDb.Summary(
            "* REPLACE (CAST(exits AS INTEGER) AS exits, CAST(events AS UINTEGER) AS events, CAST(flushes AS SMALLINT) AS flushes, " +
            "CAST(unsyncs AS UTINYINT) AS unsyncs, CAST(walk_refs AS UBIGINT) AS walk_refs), 42 AS a_column_replay_does_not_know"));

        await using (var reader = await ParquetReader.CreateAsync(Path.Combine(dir, ReportWriter.SummaryFile)))
        {
            var schema = reader.Metadata!.Schema.Skip(1).ToDictionary(e => e.Name);
            Assert.All(schema.Values, c => Assert.Equal(Parquet.Meta.FieldRepetitionType.OPTIONAL, c.RepetitionType));
            Assert.Equal(Parquet.Meta.Type.INT32, schema["exits"].Type);
        }

        Assert.Equal(await ReportReader.ReadSummaryAsync(PreviousReleaseTests.File(ReportWriter.SummaryFile)), await ReportReader.ReadSummaryAsync(Path.Combine(dir, ReportWriter.SummaryFile)));
        Assert.Equal(await ReportReader.ReadTimelineAsync(PreviousReleaseTests.File(ReportWriter.TimelineFile)), await ReportReader.ReadTimelineAsync(Path.Combine(dir, ReportWriter.TimelineFile)));
        Assert.Equal(await ReportReader.ReadExitsAsync(PreviousReleaseTests.File(ReportWriter.ExitsFile)), await ReportReader.ReadExitsAsync(Path.Combine(dir, ReportWriter.ExitsFile)));

        var fromOriginal = await Repricer.RepriceAsync(PreviousReleaseTests.V1, Prescott);
        var fromDuck = await Repricer.RepriceAsync(dir, Prescott);
        Assert.Equal(fromOriginal.Tables.Summary, fromDuck.Tables.Summary);
        Assert.Equal(fromOriginal.Tables.Timeline, fromDuck.Tables.Timeline);
    }

    [Fact]
    public async Task A_dropped_column_the_profile_prices_stops_reprice_and_says_which()
    {
        string dir = _d.File("no-walks");
        await DuckDb.RewriteAsync(PreviousReleaseTests.V1, dir, DuckDb.Summary("* EXCLUDE (walk_refs, psc_hits)"));
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Repricer.RepriceAsync(dir, Prescott));
        Assert.Contains("needs walk_refs, psc_hits, which this report does not record", e.Message, StringComparison.Ordinal);
        Assert.Contains("skylake-v1-dearer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_native_rows_reprice_needs_natives_walk_counts()
    {
        string dir = _d.File("no-native");
        await DuckDb.RewriteAsync(PreviousReleaseTests.V1, dir, f => f == ReportWriter.SummaryFile ? "* EXCLUDE (native_psc_hits)" : "*", "WHERE engine <> 'native'");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Repricer.RepriceAsync(dir, Prescott));
        Assert.Contains("needs native_psc_hits,", e.Message, StringComparison.Ordinal);

        // With native's counts on the rows it re-prices, and every overhead is still measured against native.
        string kept = _d.File("no-native-kept");
        await DuckDb.RewriteAsync(PreviousReleaseTests.V1, kept, where: "WHERE engine <> 'native'");
        var withNative = (await Repricer.RepriceAsync(PreviousReleaseTests.V1, Prescott)).Tables.Summary.Where(r => r.Engine != "native");
        Assert.Equal(withNative, (await Repricer.RepriceAsync(kept, Prescott)).Tables.Summary);
    }

    [Fact]
    public async Task A_dropped_column_no_price_needs_is_skipped_by_compare_and_left_out_of_the_reprice()
    {
        string dir = _d.File("no-peak");
        await DuckDb.RewriteAsync(PreviousReleaseTests.V1, dir, DuckDb.Summary("* EXCLUDE (shadow_pages_peak, events)"));
        var original = await ReportReader.ReadSummaryAsync(PreviousReleaseTests.File(ReportWriter.SummaryFile));
        var dropped = await ReportReader.ReadSummaryAsync(Path.Combine(dir, ReportWriter.SummaryFile));

        var compared = Comparer.Compare(original, dropped, new CompareOptions());
        Assert.Equal(15, compared.Count(r => r.Metric == "shadow_pages_peak" && r.Status == Comparer.NotRecorded));
        Assert.All(compared.Where(r => r.Metric != "shadow_pages_peak"), r => Assert.Equal("same", r.Status));

        // Without events, the rate and the phases' share of the run time cannot be worked out either.
        var repriced = await Repricer.RepriceAsync(dir, Prescott);
        using var outDir = new TempDir();
        await ReportWriter.WriteAsync(outDir.Path, repriced.Tables, Prescott, new("0.1.0", "deadbeef", "replay reprice", repriced.TraceSha256));
        var present = (await ReportReader.ReadColumnsAsync(outDir.File(ReportWriter.SummaryFile), ReportSchema.Summary)).Present;
        Assert.Equal(["events", "shadow_pages_peak", "replay_seconds", "events_per_second"],
            ReportSchema.Summary.Columns.Select(c => c.Name).Except(present).Except(PreviousReleaseTests.AddedSince));
        var rows = await ReportReader.ReadSummaryAsync(outDir.File(ReportWriter.SummaryFile));
        Assert.Equal((await Repricer.RepriceAsync(PreviousReleaseTests.V1, Prescott)).Tables.Summary.Select(r => r.MmuCycles), rows.Select(r => r.MmuCycles));
    }

    [Fact]
    public async Task Nulls_are_not_recorded_row_by_row_and_written_back_as_nulls()
    {
        string dir = _d.File("nulls");
        await DuckDb.RewriteAsync(PreviousReleaseTests.V1, dir, DuckDb.Summary("* REPLACE (CASE WHEN engine = 'ept' THEN NULL ELSE unshadows END AS unshadows)"));
        var rows = await ReportReader.ReadSummaryAsync(Path.Combine(dir, ReportWriter.SummaryFile));
        Assert.All(rows, r => Assert.Equal(r.Engine != "ept", r.IsRecorded(ReportMetrics.Unshadows)));

        var repriced = await Repricer.RepriceAsync(dir, Prescott);
        using var outDir = new TempDir();
        await ReportWriter.WriteAsync(outDir.Path, repriced.Tables, Prescott, new("0.1.0", "deadbeef", "replay reprice", repriced.TraceSha256));
        await using var reader = await ParquetReader.CreateAsync(outDir.File(ReportWriter.SummaryFile));
        var schema = reader.Metadata!.Schema.Skip(1).ToDictionary(e => e.Name);
        Assert.Equal(Parquet.Meta.FieldRepetitionType.OPTIONAL, schema["unshadows"].RepetitionType);
        Assert.Equal(Parquet.Meta.FieldRepetitionType.REQUIRED, schema["unsyncs"].RepetitionType);
        var reread = await ReportReader.ReadSummaryAsync(outDir.File(ReportWriter.SummaryFile));
        Assert.Equal(rows.Select(r => r.IsRecorded(ReportMetrics.Unshadows)), reread.Select(r => r.IsRecorded(ReportMetrics.Unshadows)));
    }
}
