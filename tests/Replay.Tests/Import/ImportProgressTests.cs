using Replay.Cli;
using Replay.Import;
using Replay.Import.Xentrace;
using Replay.Tests.Cli;

namespace Replay.Tests.Import;

/// <summary>
/// Progress with rate and time left on <c>import</c> (issue 14 part 4): the bar of <c>run</c> and <c>gen</c>, fed with
/// the input bytes read (a zip's compressed bytes), drawn only on a terminal.
/// </summary>
public sealed class ImportProgressTests : IDisposable
{
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    /// <summary>A bar drawn into a string, its clock one second per reading.</summary>
    private static (ImportProgress Progress, StringWriter Drawn) Bar()
    {
        var drawn = new StringWriter();
        var now = TimeSpan.Zero;
        var bar = new ProgressBar(drawn, enabled: true, () => now += TimeSpan.FromSeconds(1));
        return (new ImportProgress(bar), drawn);
    }

    /// <summary>The percentages drawn, in order.</summary>
    private static List<int> Percents(StringWriter drawn) => drawn.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => l.Split(']').ElementAtOrDefault(1)?.Trim().Split('%')[0])
        .Select(p => int.TryParse(p, out int n) ? n : -1).Where(n => n >= 0).ToList();

    [Fact]
    public async Task A_lackey_import_counts_every_byte_of_its_files_and_draws_a_rising_bar_to_100_percent_with_a_rate()
    {
        // Two inputs, plain and gzip: the bar's total is their sizes on disk.
        string plain = Samples.File(Path.Combine("cachelab", "long.trace"));
        string gz = Samples.File(Path.Combine("lackey", "lackey_tiny_n1000.txt.gz"));
        var (progress, drawn) = Bar();
        var importer = new LackeyImporter([plain, gz], new ImportOptions(Vcpus: 2) { Progress = progress });

        await ImportOutput.WriteAsync(_d.File("two.pq"), new Replay.Kernel.KernelOptions { Vcpus = 2 }, "test", importer.Markers, importer.Run);

        // Every byte once, plus what the reader reads twice: each file's first 2 bytes (sniffed for the gzip magic, then
        // read again) and the gzip's 8-byte trailer (CRC-32 and ISIZE, read before the data to check it at the end).
        Assert.Equal(new FileInfo(plain).Length + 2 + new FileInfo(gz).Length + 2 + 8, progress.Completed);
        var percents = Percents(drawn);
        Assert.True(percents.Count > 10, drawn.ToString());
        Assert.Equal(percents.Order(), percents);
        Assert.Equal(100, percents[^1]);
        Assert.Contains(" MB/s", drawn.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("\r2 files [", drawn.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_drmemtrace_import_counts_the_compressed_bytes_of_its_thread_files()
    {
        var (progress, drawn) = Bar();
        using var importer = new DrMemTraceImporter(Samples.ThreadSig, new ImportOptions { Progress = progress });
        await ImportOutput.WriteAsync(_d.File("t.pq"), new Replay.Kernel.KernelOptions(), "test", importer.Markers, importer.Run);

        // A zip reader reads the central directory at the end first, then each member: the bytes read are the file's
        // size to within the directory it reads twice, never less than the members' compressed bytes.
        long size = ImportProgress.SizeOf(DrMemTraceImporter.ThreadFiles(Samples.ThreadSig));
        Assert.InRange(progress.Completed, size * 0.99, size * 1.05);
        Assert.Equal(100, Percents(drawn)[^1]);
        Assert.StartsWith("\rthreadsig [", drawn.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_xentrace_import_shows_each_pass_over_the_file_under_its_own_label()
    {
        string bin = Samples.File(Path.Combine("xentrace", "xentrace.bin"));
        var (progress, drawn) = Bar();
        var importer = new XentraceImporter(bin, new ImportOptions { Progress = progress }, domain: null);

        importer.Measure(1_000_000);
        long measured = progress.Completed;
        importer.GuestDomain();

        // Each pass reads every CPU's blocks once: all of the file but the block headers.
        Assert.Equal(measured, progress.Completed);
        Assert.InRange(measured, new FileInfo(bin).Length * 0.9, new FileInfo(bin).Length);
        string text = drawn.ToString();
        Assert.Contains("\rxentrace.bin (measuring) [", text, StringComparison.Ordinal);
        Assert.Contains("\rxentrace.bin (finding the domain) [", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_is_drawn_when_stderr_is_not_a_terminal()
    {
        var (code, stdout, err) = await Cli.Cli.RunAsync("import", "lackey", Samples.File(Path.Combine("cachelab", "long.trace")), "-o", _d.File("l.pq"));
        Assert.True(code == 0, err);
        Assert.DoesNotContain('\r', err);
        Assert.Contains("l.pq: ", stdout, StringComparison.Ordinal);
    }
}
