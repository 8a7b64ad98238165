using System.Collections;
using Parquet;
using Replay.Analysis.Reports;
using Replay.Engines.Contract;

namespace Replay.Analysis.Tests.Reports;

/// <summary>
/// The timeline is priced window by window as it is written, a row group at a time (issue 15, item 9): nothing is
/// priced until the writer asks, each window is read once per file, and the file holds exactly the rows the windows
/// price to, in row groups of <see cref="ReportWriter.RowGroupSize"/>.
/// </summary>
public class StreamedTimelineTests
{
    private static readonly ReportProvenance Provenance = new("0.1.0", "deadbeef", "replay t.pq --window 1", "abc123");

    [Fact]
    public async Task A_timeline_of_more_windows_than_a_row_group_is_priced_only_when_written_and_lands_group_by_group()
    {
        // 2 groups + 3 windows of one event each. Window i: 1 access, i % 4 walk refs (all served by L1, 10 cycles
        // each under 'round'); odd windows take one shadow_fill exit of i % 5 units: 1000 + 500 + 200 × (i % 5).
        // So mmu_cycles(i) = 10 × (i % 4) + (odd ? 1500 + 200 × (i % 5) : 0); timeline_exits has a row per odd window.
        int n = (2 * ReportWriter.RowGroupSize) + 3;
        var windows = new GeneratedWindows(n);
        var trace = ReportBuilderTests.Trace(reportNative: false);
        var shadow = trace.Engines.Single(e => !e.IsNative) with { Windows = windows };
        var tables = ReportBuilder.Build(TestProfiles.Round, [trace with { Engines = [trace.Engines.Single(e => e.IsNative), shadow] }]);
        Assert.Equal(0, windows.Enumerations); // built, not priced

        using var dir = new TempDir();
        await ReportWriter.WriteAsync(dir.Path, tables, TestProfiles.Round, Provenance);

        Assert.Equal(2, windows.Enumerations); // once for the timeline, once for its exits
        Assert.Equal([ReportWriter.RowGroupSize, ReportWriter.RowGroupSize, 3], await GroupSizes(dir.File(ReportWriter.TimelineFile)));
        var rows = await ReportReader.ReadTimelineAsync(dir.File(ReportWriter.TimelineFile));
        Assert.Equal(
            Enumerable.Range(0, n).Select(i => (Window: (long)i, First: (long)i, Last: (long)i, Exits: i % 2L, Mmu: (10.0 * (i % 4)) + (i % 2 == 1 ? 1500 + (200 * (i % 5)) : 0))),
            rows.Select(r => (r.Window, First: r.FirstEvent, Last: r.LastEvent, r.Exits, Mmu: r.MmuCycles)));
        Assert.All(rows, r => Assert.Equal(("t.pq", "shadow-flush", "round", 1L), (r.Trace, r.Engine, r.Profile, r.Accesses)));
        var exits = await ReportReader.ReadTimelineExitsAsync(dir.File(ReportWriter.TimelineExitsFile));
        Assert.Equal(
            Enumerable.Range(0, n).Where(i => i % 2 == 1).Select(i => ((long)i, "shadow_fill", 1L, (long)(i % 5), 1500.0 + (200 * (i % 5)))),
            exits.Select(x => (x.Window, x.Handler, x.Count, x.Units, x.Cycles)));
    }

    [Theory]
    [InlineData(true)]  // the first group records exits in every row, the last two rows do not
    [InlineData(false)] // the first group records exits in no row, the last two rows do
    public async Task A_metric_a_later_group_records_differently_gets_the_column_the_rows_written_whole_get(bool firstRecords)
    {
        // The writer takes the columns of the first group; the last group disagrees, so the file is written again
        // with every group's columns combined: exits OPTIONAL, null where a row does not record it, as for a list.
        var baseRow = new TimelineRow { Trace = "t.pq", Engine = "shadow-flush", Profile = "round" };
        int n = ReportWriter.RowGroupSize + 2;
        int enumerations = 0;
        IEnumerable<TimelineRow> Rows()
        {
            enumerations++;
            for (int i = 0; i < n; i++)
            {
                var values = baseRow.Values.With(ReportMetrics.Exits, (long)i);
                yield return baseRow with
                {
                    Window = i, FirstEvent = i, LastEvent = i,
                    Values = (i < ReportWriter.RowGroupSize) == firstRecords ? values : values.WithoutRecorded([ReportMetrics.Exits]),
                };
            }
        }

        var tables = ReportBuilder.Build(TestProfiles.Round, [ReportBuilderTests.Trace(reportNative: false)]);
        using var lazy = new TempDir();
        using var whole = new TempDir();
        await ReportWriter.WriteAsync(lazy.Path, tables with { Timeline = Rows() }, TestProfiles.Round, Provenance);
        Assert.Equal(3, enumerations); // the first try, stopped at the second group; the columns of every group; the file
        await ReportWriter.WriteAsync(whole.Path, tables with { Timeline = Rows().ToList() }, TestProfiles.Round, Provenance);

        var fields = await Fields(lazy.File(ReportWriter.TimelineFile));
        Assert.Equal(await Fields(whole.File(ReportWriter.TimelineFile)), fields);
        Assert.Contains(("exits", true), fields);
        Assert.Contains(("accesses", false), fields);
        var back = await ReportReader.ReadTimelineAsync(lazy.File(ReportWriter.TimelineFile));
        Assert.Equal(Rows(), back);
        Assert.Equal(firstRecords ? ReportWriter.RowGroupSize : 2, back.Count(r => r.IsRecorded(ReportMetrics.Exits)));
        Assert.Empty(Directory.GetFiles(lazy.Path, ".*")); // no temp file of the first try remains
    }

    private static async Task<List<long>> GroupSizes(string path)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        var sizes = new List<long>();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            sizes.Add(group.RowCount);
        }

        return sizes;
    }

    private static async Task<List<(string Name, bool Nullable)>> Fields(string path)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        return reader.Schema.DataFields.Select(f => (f.Name, f.IsNullable)).ToList();
    }

    /// <summary>Windows made as they are enumerated (as a spilled log reads them back), counting the enumerations.</summary>
    private sealed class GeneratedWindows(int count) : IReadOnlyCollection<WindowResult>
    {
        public int Count => count;

        public int Enumerations { get; private set; }

        public IEnumerator<WindowResult> GetEnumerator()
        {
            Enumerations++;
            for (int i = 0; i < count; i++)
            {
                var s = new EngineStats(ReportBuilderTests.ShadowKinds.Length, 2) { Events = 1, Accesses = 1, WalkRefs = i % 4, WalkL1 = i % 4 };
                if (i % 2 == 1)
                {
                    s.Exit(0, i % 5);
                }

                yield return new WindowResult(i, i, i, null, s);
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
