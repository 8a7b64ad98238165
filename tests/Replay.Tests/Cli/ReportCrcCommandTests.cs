using Parquet;
using Replay.Analysis.ParquetIO;
using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

/// <summary>
/// Report files store page CRCs (issue 15): every command that reads a report refuses a damaged page with exit 1 and one
/// sentence naming the file, the column and the row group, and writes nothing.
/// </summary>
public sealed class ReportCrcCommandTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public async Task A_byte_flipped_in_a_report_data_page_makes_report_compare_and_reprice_exit_1_naming_the_file()
    {
        string trace = _d.File("t.pq");
        var (code, _, err) = await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "4000");
        Assert.True(code == 0, err);
        (code, _, err) = await Cli.RunAsync(trace, "--engine", "shadow-flush", "--out", _d.File("good"));
        Assert.True(code == 0, err);
        (code, _, err) = await Cli.RunAsync(trace, "--engine", "shadow-flush", "--out", _d.File("bad"));
        Assert.True(code == 0, err);

        string summary = _d.File("bad/summary.parquet");
        long page = await FlipInDataPageAsync(summary, "mmu_cycles");
        var before = Cli.Snapshot(_d.File("bad"));
        string expected = $"replay: Report file '{summary}': column 'mmu_cycles', row group 0: the page at byte {page} fails its CRC-32 check (stored ";

        var results = new[]
        {
            await Cli.RunAsync("report", _d.File("bad"), "--html", _d.File("r.html")),
            await Cli.RunAsync("compare", _d.File("good"), _d.File("bad"), "--out", _d.File("cmp")),
            await Cli.RunAsync("reprice", _d.File("bad"), "--profile", "nehalem", "--out", _d.File("repriced")),
        };

        foreach (var (c, _, e) in results)
        {
            Assert.Equal(1, c);
            Assert.StartsWith(expected, e, StringComparison.Ordinal);
            Assert.Single(e.TrimEnd('\n').Split('\n')); // one line
        }

        Assert.False(File.Exists(_d.File("r.html")));
        Assert.False(Directory.Exists(_d.File("cmp")));
        Assert.False(Directory.Exists(_d.File("repriced")));
        Assert.Equal(before, Cli.Snapshot(_d.File("bad"))); // nothing written into the damaged folder either
        (code, _, err) = await Cli.RunAsync("report", _d.File("good"), "--html", _d.File("r.html")); // the undamaged twin reads
        Assert.True(code == 0, err);
    }

    /// <summary>Flips one bit inside the first data page of <paramref name="column"/>'s chunk; returns the page's offset.</summary>
    private static async Task<long> FlipInDataPageAsync(string path, string column)
    {
        long offset;
        await using (ParquetReader reader = await ParquetReader.CreateAsync(path))
        {
            offset = reader.Metadata!.RowGroups[0].Columns.Single(c => c.MetaData!.PathInSchema[0] == column).MetaData!.DataPageOffset;
        }

        byte[] bytes = await File.ReadAllBytesAsync(path);
        int header = ThriftPageHeader.Parse(bytes.AsSpan((int)offset), out _);
        bytes[offset + header + 2] ^= 0x20;
        await File.WriteAllBytesAsync(path, bytes);
        return offset;
    }
}
