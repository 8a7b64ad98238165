using Parquet;
using Replay.Analysis.Costs;
using Replay.Analysis.Reports;

namespace Replay.Analysis.Tests.Reports;

public class ReportWriterTests
{
    private static readonly ReportProvenance Provenance = new("0.1.0", "deadbeef", "replay t.pq --engine shadow-flush", "abc123");

    private static readonly string[] Files = ["counters.parquet", "exits.parquet", "summary.parquet", "timeline.parquet", "timeline_exits.parquet", "vcpu_exits.parquet", "vcpus.parquet"];

    private static ReportTables Tables() => ReportBuilder.Build(TestProfiles.Round, [ReportBuilderTests.Trace(reportNative: true)]);

    [Fact]
    public async Task Every_table_reads_back_exactly()
    {
        using var dir = new TempDir();
        var t = Tables();
        await ReportWriter.WriteAsync(dir.Path, t, TestProfiles.Round, Provenance);

        Assert.Equal(t.Summary, await ReportReader.ReadSummaryAsync(dir.File(ReportWriter.SummaryFile)));
        Assert.Equal(t.Exits, await ReportReader.ReadExitsAsync(dir.File(ReportWriter.ExitsFile)));
        Assert.Equal(t.Timeline, await ReportReader.ReadTimelineAsync(dir.File(ReportWriter.TimelineFile)));
        Assert.Equal(t.Counters, await ReportReader.ReadCountersAsync(dir.File(ReportWriter.CountersFile)));
    }

    [Fact]
    public async Task Every_file_says_where_it_came_from_and_no_temporary_file_remains()
    {
        using var dir = new TempDir();
        string outDir = Path.Combine(dir.Path, "reports", "t");   // created on demand
        await ReportWriter.WriteAsync(outDir, Tables(), TestProfiles.Round, Provenance);

        Assert.Equal(Files, Directory.GetFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string file in Files)
        {
            var meta = await ReportReader.ReadMetadataAsync(Path.Combine(outDir, file));
            Assert.Equal("0.1.0", meta["replay.version"]);
            Assert.Equal("deadbeef", meta["replay.commit"]);
            Assert.Equal("replay t.pq --engine shadow-flush", meta["replay.command"]);
            Assert.Equal("abc123", meta["replay.trace.sha256"]);
            Assert.Equal("2", meta["replay.report.version"]);
            Assert.Equal(TestProfiles.RoundJson, meta["replay.profile"]);
            Assert.Equal("round", ProfileCatalog.Parse(meta["replay.profile"]).Name); // enough to re-price later
        }
    }

    [Fact]
    public async Task Writing_again_replaces_the_previous_report()
    {
        using var dir = new TempDir();
        await ReportWriter.WriteAsync(dir.Path, Tables(), TestProfiles.Round, Provenance);
        var fewer = Tables() with { Summary = [], Timeline = [] };
        await ReportWriter.WriteAsync(dir.Path, fewer, TestProfiles.Round, Provenance);

        Assert.Empty(await ReportReader.ReadSummaryAsync(dir.File(ReportWriter.SummaryFile)));
        Assert.Empty(await ReportReader.ReadTimelineAsync(dir.File(ReportWriter.TimelineFile)));
        Assert.Equal(Files.Length, Directory.GetFiles(dir.Path).Length);
    }

    [Fact]
    public async Task A_cancelled_write_leaves_no_file()
    {
        using var dir = new TempDir();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => ReportWriter.WriteAsync(dir.Path, Tables(), TestProfiles.Round, Provenance, cts.Token));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public async Task A_write_that_fails_partway_keeps_the_previous_report_and_no_temporary_file()
    {
        // summary.parquet is written to its temporary name first, then exits fails on a null REQUIRED string:
        // the previous report stays whole and the finished temporary file is removed.
        using var dir = new TempDir();
        await ReportWriter.WriteAsync(dir.Path, Tables(), TestProfiles.Round, Provenance);
        var bad = Tables();
        bad.Summary.Clear();
        bad.Exits[0] = bad.Exits[0] with { Handler = null! };

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => ReportWriter.WriteAsync(dir.Path, bad, TestProfiles.Round, Provenance));
        Assert.Contains("'handler'", e.Message, StringComparison.Ordinal);
        Assert.Equal(Files, Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(6, (await ReportReader.ReadSummaryAsync(dir.File(ReportWriter.SummaryFile))).Count);
    }

    [Fact]
    public async Task Counts_are_int64_cycles_double_names_string_and_only_time_is_nullable()
    {
        using var dir = new TempDir();
        await ReportWriter.WriteAsync(dir.Path, Tables(), TestProfiles.Round, Provenance);

        var summary = await Columns(dir.File(ReportWriter.SummaryFile));
        Assert.Equal(47, summary.Count);
        Assert.Equal("native_walk_refs_mem", summary.Keys.Last());
        Assert.True(IsString(summary["engine"]));
        Assert.True(IsString(summary["trace_sha256"]));
        Assert.Equal(Parquet.Meta.Type.INT64, summary["accesses"].Type);
        Assert.Equal(Parquet.Meta.Type.INT64, summary["psc_hits"].Type);
        Assert.Equal(Parquet.Meta.Type.DOUBLE, summary["mmu_cycles"].Type);
        Assert.Equal(Parquet.Meta.Type.DOUBLE, summary["slowdown"].Type);
        Assert.All(summary.Values, c => Assert.Equal(Parquet.Meta.FieldRepetitionType.REQUIRED, c.RepetitionType));

        var exits = await Columns(dir.File(ReportWriter.ExitsFile));
        Assert.Equal(["trace", "engine", "profile", "phase", "reason", "reason_code", "handler", "count", "units", "cycles"], exits.Keys);
        Assert.Equal(Parquet.Meta.Type.INT32, exits["reason_code"].Type);
        Assert.Equal(Parquet.Meta.Type.INT64, exits["count"].Type);
        Assert.Equal(Parquet.Meta.Type.DOUBLE, exits["cycles"].Type);
        Assert.True(IsString(exits["handler"]));

        var timeline = await Columns(dir.File(ReportWriter.TimelineFile));
        Assert.Equal(Parquet.Meta.Type.INT64, timeline["time_ns"].Type);
        Assert.Equal(Parquet.Meta.FieldRepetitionType.OPTIONAL, timeline["time_ns"].RepetitionType);
        Assert.All(timeline.Where(c => c.Key != "time_ns"), c => Assert.Equal(Parquet.Meta.FieldRepetitionType.REQUIRED, c.Value.RepetitionType));

        var counters = await Columns(dir.File(ReportWriter.CountersFile));
        Assert.Equal(["trace", "engine", "name", "value"], counters.Keys);
        Assert.Equal(Parquet.Meta.Type.INT64, counters["value"].Type);
    }

    [Fact]
    public void Summary_columns_are_SPEC_order_then_the_counts_re_pricing_needs()
    {
        string[] spec =
        [
            "trace", "trace_sha256", "engine", "profile", "phase", "events", "accesses", "cr3_loads", "pt_writes", "invlpgs",
            "flushes", "guest_faults", "trace_warnings", "tlb_misses", "walk_refs", "exits", "exit_cycles", "walk_cycles",
            "mmu_cycles", "overhead_cycles", "overhead_per_kaccess", "instructions", "guest_cycles", "total_cycles", "slowdown",
            "shadow_pages_peak", "shadow_pages_created", "shadow_pages_evicted", "emulated_writes", "unsyncs", "resyncs",
            "unshadows", "replay_seconds", "events_per_second", "psc_hits", "native_walk_refs", "native_psc_hits",
            "insns", "walk_refs_l1", "walk_refs_l2", "walk_refs_l3", "walk_refs_mem", "nested_tlb_hits",
            "native_walk_refs_l1", "native_walk_refs_l2", "native_walk_refs_l3", "native_walk_refs_mem",
        ];
        Assert.Equal(spec, ReportSchema.Summary.Columns.Select(c => c.Name));
        Assert.Equal(
            ["trace", "engine", "profile", "window", "first_event", "last_event", "time_ns", "accesses", "exits", "guest_faults", "tlb_misses", "mmu_cycles", "shadow_pages",
             "walk_refs", "psc_hits", "instructions", "insns", "walk_refs_l1", "walk_refs_l2", "walk_refs_l3", "walk_refs_mem", "nested_tlb_hits"],
            ReportSchema.Timeline.Columns.Select(c => c.Name));
    }

    private static bool IsString(Parquet.Meta.SchemaElement c) =>
        c.Type == Parquet.Meta.Type.BYTE_ARRAY && (c.LogicalType?.STRING is not null || c.ConvertedType == Parquet.Meta.ConvertedType.UTF8);

    /// <summary>The file's leaf columns as Parquet declares them (what pyarrow or DuckDB will see), in order; every chunk zstd.</summary>
    private static async Task<Dictionary<string, Parquet.Meta.SchemaElement>> Columns(string path)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        Assert.True(reader.RowGroupCount > 0);
        using var group = reader.OpenRowGroupReader(0);
        Assert.All(group.RowGroup.Columns, c => Assert.Equal(Parquet.Meta.CompressionCodec.ZSTD, c.MetaData!.Codec));
        return reader.Metadata!.Schema.Skip(1).ToDictionary(e => e.Name);
    }
}
