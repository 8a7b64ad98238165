using System.IO.Hashing;
using DuckDB.NET.Data;
using Parquet;
using Parquet.Meta;
using Replay.Analysis.ParquetIO;
using Replay.Analysis.Reports;

namespace Replay.Analysis.Tests.Reports;

/// <summary>
/// Report files store a CRC-32 in every page header, as traces do (issue 15): <see cref="ReportWriter"/> copies
/// Parquet.Net's file through <see cref="PageCrcs"/>, <see cref="ReportReader"/> checks every page that stores one,
/// and other readers (DuckDB) read the files as before.
/// </summary>
public sealed class ReportCrcTests : IDisposable
{
    private static readonly ReportProvenance Provenance = new("0.1.0", "deadbeef", "replay t.pq", "abc123");

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ReportTables Tables() => ReportBuilder.Build(TestProfiles.Round, [ReportBuilderTests.Trace(reportNative: true)]);

    [Fact]
    public async Task Every_page_of_every_report_file_stores_the_crc_32_of_its_bytes_and_every_table_reads_back_exactly()
    {
        ReportTables t = Tables();
        await ReportWriter.WriteAsync(_dir.Path, t, TestProfiles.Round, Provenance);

        string[] files = Directory.GetFiles(_dir.Path);
        Assert.Equal(7, files.Length); // no temporary file left beside them
        var withRows = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (file, rows) in Counts(t))
        {
            if (rows > 0)
            {
                withRows.Add(file);
            }
        }

        Assert.Contains(ReportWriter.SummaryFile, withRows);
        Assert.Contains(ReportWriter.ExitsFile, withRows);
        var withPages = new HashSet<string>(StringComparer.Ordinal);
        foreach (string path in files)
        {
            byte[] bytes = await File.ReadAllBytesAsync(path);
            int pages = 0;
            foreach (ColumnChunk chunk in await ChunksAsync(path))
            {
                int at = (int)ChunkBytes.Start(chunk.MetaData!);
                int end = at + (int)chunk.MetaData!.TotalCompressedSize;
                while (at < end)
                {
                    at += ThriftPageHeader.Parse(bytes.AsSpan(at), out ThriftPageHeader page);
                    Assert.Equal(Crc32.HashToUInt32(bytes.AsSpan(at, page.CompressedSize)), page.Crc);
                    at += page.CompressedSize;
                    pages++;
                }

                Assert.Equal(end, at); // the moved offsets and sizes tile the chunk exactly
            }

            if (pages > 0)
            {
                withPages.Add(Path.GetFileName(path));
            }
        }

        Assert.Equal(withRows, withPages);

        Assert.Equal(t.Summary, await ReportReader.ReadSummaryAsync(_dir.File(ReportWriter.SummaryFile)));
        Assert.Equal(t.Exits, await ReportReader.ReadExitsAsync(_dir.File(ReportWriter.ExitsFile)));
        Assert.Equal(t.Timeline, await ReportReader.ReadTimelineAsync(_dir.File(ReportWriter.TimelineFile)));
        Assert.Equal(t.Counters, await ReportReader.ReadCountersAsync(_dir.File(ReportWriter.CountersFile)));
        Assert.Equal(t.TimelineExits, await ReportReader.ReadTimelineExitsAsync(_dir.File(ReportWriter.TimelineExitsFile)));
        Assert.Equal(t.Vcpus, await ReportReader.ReadVcpusAsync(_dir.File(ReportWriter.VcpusFile)));
        Assert.Equal(t.VcpuExits, await ReportReader.ReadVcpuExitsAsync(_dir.File(ReportWriter.VcpuExitsFile)));
    }

    [Fact]
    public async Task A_byte_flipped_in_a_data_page_is_one_error_naming_the_file_the_column_and_the_row_group()
    {
        await ReportWriter.WriteAsync(_dir.Path, Tables(), TestProfiles.Round, Provenance);
        string path = _dir.File(ReportWriter.SummaryFile);
        ColumnMetaData exits = (await ChunksAsync(path)).Single(c => c.MetaData!.PathInSchema[0] == "exits").MetaData!;
        byte[] bytes = await File.ReadAllBytesAsync(path);
        int header = ThriftPageHeader.Parse(bytes.AsSpan((int)exits.DataPageOffset), out ThriftPageHeader page);
        ReadOnlySpan<byte> body = bytes.AsSpan((int)exits.DataPageOffset + header, page.CompressedSize);
        bytes[(int)exits.DataPageOffset + header + 1] ^= 0x04;
        uint damaged = Crc32.HashToUInt32(body);
        await File.WriteAllBytesAsync(path, bytes);

        var e = await Assert.ThrowsAsync<ParquetFileException>(() => ReportReader.ReadSummaryAsync(path));

        Assert.Equal($"Report file '{path}': column 'exits', row group 0: the page at byte {exits.DataPageOffset} fails its CRC-32 check (stored {page.Crc:x8}, computed {damaged:x8}).", e.Message);
        Assert.NotEqual(page.Crc, damaged);
        Assert.Equal("abc123", (await ReportReader.ReadMetadataAsync(path))["replay.trace.sha256"]); // the footer is whole
    }

    [Fact]
    public async Task A_file_that_is_not_parquet_or_is_cut_short_is_one_error_naming_it()
    {
        await ReportWriter.WriteAsync(_dir.Path, Tables(), TestProfiles.Round, Provenance);
        string text = _dir.File("text.parquet");
        await File.WriteAllTextAsync(text, "engine,exits\nept,3\n");
        string cut = _dir.File(ReportWriter.ExitsFile);
        byte[] bytes = await File.ReadAllBytesAsync(cut);
        await File.WriteAllBytesAsync(cut, bytes[..(bytes.Length / 2)]);

        var e = await Assert.ThrowsAsync<ParquetFileException>(() => ReportReader.ReadSummaryAsync(text));
        Assert.Equal($"Report file '{text}': not a Parquet file.", e.Message);
        e = await Assert.ThrowsAsync<ParquetFileException>(() => ReportReader.ReadExitsAsync(cut));
        Assert.Equal($"Report file '{cut}': a truncated Parquet file (its footer is missing).", e.Message);
    }

    [Fact]
    public async Task DuckDB_reads_every_file_of_a_report_folder_as_the_report_reader_does()
    {
        ReportTables t = Tables();
        await ReportWriter.WriteAsync(_dir.Path, t, TestProfiles.Round, Provenance);

        // DuckDB's row counts, and every value as DuckDB reads it: the folder rewritten through DuckDB reads back as the tables.
        using (var db = new DuckDBConnection("DataSource=:memory:"))
        {
            db.Open();
            foreach (var (file, rows) in Counts(t))
            {
                using var cmd = db.CreateCommand();
                cmd.CommandText = $"SELECT count(*) FROM read_parquet('{_dir.File(file)}')";
                Assert.Equal((long)rows, Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        string duck = Path.Combine(_dir.Path, "duck");
        await DuckDb.RewriteAsync(_dir.Path, duck);
        Assert.Equal(t.Summary, await ReportReader.ReadSummaryAsync(Path.Combine(duck, ReportWriter.SummaryFile)));
        Assert.Equal(t.Exits, await ReportReader.ReadExitsAsync(Path.Combine(duck, ReportWriter.ExitsFile)));
        Assert.Equal(t.Timeline, await ReportReader.ReadTimelineAsync(Path.Combine(duck, ReportWriter.TimelineFile)));
        Assert.Equal(t.Counters, await ReportReader.ReadCountersAsync(Path.Combine(duck, ReportWriter.CountersFile)));
        Assert.Equal(t.TimelineExits, await ReportReader.ReadTimelineExitsAsync(Path.Combine(duck, ReportWriter.TimelineExitsFile)));
        Assert.Equal(t.Vcpus, await ReportReader.ReadVcpusAsync(Path.Combine(duck, ReportWriter.VcpusFile)));
        Assert.Equal(t.VcpuExits, await ReportReader.ReadVcpuExitsAsync(Path.Combine(duck, ReportWriter.VcpuExitsFile)));
    }

    /// <summary>Each report file with the rows its table has.</summary>
    private static (string File, int Rows)[] Counts(ReportTables t) =>
    [
        (ReportWriter.SummaryFile, t.Summary.Count), (ReportWriter.ExitsFile, t.Exits.Count), (ReportWriter.TimelineFile, t.Timeline.Count()),
        (ReportWriter.CountersFile, t.Counters.Count), (ReportWriter.TimelineExitsFile, t.TimelineExits.Count()), (ReportWriter.VcpusFile, t.Vcpus.Count),
        (ReportWriter.VcpuExitsFile, t.VcpuExits.Count),
    ];

    private static async Task<List<ColumnChunk>> ChunksAsync(string path)
    {
        await using ParquetReader reader = await ParquetReader.CreateAsync(path);
        return reader.Metadata!.RowGroups.SelectMany(g => g.Columns).ToList();
    }
}
