using Replay.Import;
using Replay.Tests.Cli;
using Replay.TraceIO;
using Xunit;

namespace Replay.Tests.Import.Etw;

/// <summary><c>replay import etw</c> on the real samples and on bad input.</summary>
public sealed class EtwCommandTests : IDisposable
{
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Theory]
    [InlineData("net.4.5.2.x64.etl.zip", 32)] // 33 processes; Idle and System share DirectoryTableBase 0x187000
    [InlineData("net.4.5.2.x86.etl.zip", 35)]
    [InlineData("ShutdownPerfDiagLogger.etl", 93)]
    public async Task Each_sample_imports_and_replays_under_every_engine_strictly(string sample, int spaces)
    {
        string trace = _d.File("t.pq");
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "etw", Samples.File("etl/" + sample), "-o", trace);
        Assert.True(code == 0, stderr);
        Assert.Contains($" in {spaces} processes;", stdout, StringComparison.Ordinal);
        (code, _, stderr) = await Cli.Cli.RunAsync(trace, "--engine", "all", "--verify", "--strict", "--out", _d.File("reports"));
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task The_x64_sample_accesses_every_user_hard_fault_in_the_baseline_address_spaces()
    {
        // 153 hard faults (baseline COUNT): 150 at user addresses of known processes, 3 ignored. Plus 35 Image/Load
        // header reads and 16 thread-creation stores (8 of the 9 Thread/Starts have a TEB and a user stack).
        string trace = _d.File("t.pq");
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "etw", Samples.File("etl/net.4.5.2.x64.etl.zip"), "-o", trace);
        Assert.True(code == 0, stderr);
        Assert.Contains("201 records (132 fetches, 53 loads, 16 stores, 0 modifies)", stdout, StringComparison.Ordinal);
        Assert.Contains("; 3 ignored;", stdout, StringComparison.Ordinal);
        await using var reader = await TraceReader.OpenAsync(trace);
        var labels = reader.Info.Markers.Values.ToList();
        Assert.Contains("pid 0 Idle DirectoryTableBase 0x187000", labels);
        Assert.Contains("pid 456 smss.exe DirectoryTableBase 0x44e1000", labels);
        Assert.Contains("pid 3676 Test.x64.exe DirectoryTableBase 0x558fb000", labels);
        Assert.Equal("replay import etw " + Samples.File("etl/net.4.5.2.x64.etl.zip"), reader.Info.Source);
    }

    [Fact]
    public async Task A_truncated_file_is_one_sentence_with_its_offset_and_leaves_the_old_output()
    {
        string etl = _d.File("cut.etl"), trace = _d.File("t.pq");
        File.WriteAllBytes(etl, EtlBytes()[..3_000_000]);
        File.WriteAllText(trace, "previous");
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "etw", etl, "-o", trace);
        Assert.Equal(1, code);
        Assert.Equal($"replay: {etl}: byte 2996502: truncated: the buffer holds 18140 bytes, the file ends after 3498.", stderr.Trim());
        Assert.Equal("previous", File.ReadAllText(trace));
    }

    [Fact]
    public async Task Skip_bad_counts_the_truncated_buffer_and_imports_the_rest()
    {
        string etl = _d.File("cut.etl"), trace = _d.File("t.pq");
        File.WriteAllBytes(etl, EtlBytes()[..3_000_000]);
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "etw", etl, "--skip-bad", "-o", trace);
        Assert.True(code == 0, stderr);
        await using var reader = await TraceReader.OpenAsync(trace);
        using var stats = System.Text.Json.JsonDocument.Parse(reader.Metadata[ImportOutput.StatsKey]);
        Assert.Equal(1, stats.RootElement.GetProperty("bad_records").GetInt64());
    }

    [Theory]
    [InlineData("not an ETL trace, just text", "byte 0: not an ETL file (only 27 bytes; an ETL header buffer holds at least 152).")]
    public async Task A_foreign_file_is_one_sentence_and_writes_nothing(string content, string message)
    {
        string etl = _d.File("f.etl"), trace = _d.File("t.pq");
        File.WriteAllText(etl, content);
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "etw", etl, "-o", trace);
        Assert.Equal(1, code);
        Assert.Equal($"replay: {etl}: {message}", stderr.Trim());
        Assert.False(File.Exists(trace));
    }

    [Fact]
    public async Task A_file_with_a_foreign_first_event_names_byte_72()
    {
        string etl = _d.File("f.etl");
        var bytes = EtlBytes()[..4096];
        bytes[72 + 7] = 0x05; // the first event's group: Thread, not the EventTrace header
        File.WriteAllBytes(etl, bytes);
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "etw", etl, "-o", _d.File("t.pq"));
        Assert.Equal(1, code);
        Assert.Contains("f.etl: byte 72: not an ETL file (no EventTrace header event", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_import_with_no_access_fails()
    {
        string etl = _d.File("cut.etl");
        File.WriteAllBytes(etl, EtlBytes()[..96252]); // whole buffers only: rundown, no fault and no thread start yet
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "etw", etl, "-o", _d.File("t.pq"));
        Assert.Equal(1, code);
        Assert.Contains("cut.etl: nothing to import: 14 address spaces", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_d.File("t.pq")));
    }

    private static byte[] EtlBytes()
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(Samples.File("etl/net.4.5.2.x64.etl.zip"));
        using var s = zip.Entries.Single(e => e.FullName.EndsWith(".etl", StringComparison.Ordinal)).Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
