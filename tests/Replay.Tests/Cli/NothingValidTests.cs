using Replay.Engines.Trace;
using Replay.Tests.Trace;

namespace Replay.Tests.Cli;

/// <summary>An import that read nothing valid fails; a replay of a trace without a single access says so.</summary>
public sealed class NothingValidTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();
    private readonly TraceFiles _files = new();

    public void Dispose()
    {
        _d.Dispose();
        _files.Dispose();
    }

    [Fact]
    public async Task Lackey_skip_bad_on_a_binary_file_fails_with_one_sentence_and_writes_nothing()
    {
        // Bytes of no lackey line at all (an ELF header and noise): --skip-bad skips every line, leaving 0 records.
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        "\u007fELF"u8.CopyTo(bytes);
        await File.WriteAllBytesAsync(_d.File("a.out"), bytes);

        var (code, stdout, stderr) = await Cli.RunAsync("import", "lackey", _d.File("a.out"), "--skip-bad", "-o", _d.File("t.pq"));
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Matches(@"^replay: .*a\.out: no valid access record in it \([\d,]+ malformed skipped\), so no trace was written\.\r?\n$", stderr);
        Assert.False(File.Exists(_d.File("t.pq")));
    }

    [Fact]
    public async Task An_empty_lackey_file_fails_too()
    {
        await File.WriteAllTextAsync(_d.File("empty.lackey"), "==123== Lackey, an example Valgrind tool\n");
        var (code, _, stderr) = await Cli.RunAsync("import", "lackey", _d.File("empty.lackey"), "-o", _d.File("t.pq"));
        Assert.Equal(1, code);
        Assert.Contains("empty.lackey: no valid access record in it, so no trace was written.", stderr);
        Assert.False(File.Exists(_d.File("t.pq")));
    }

    [Fact]
    public async Task Replaying_a_trace_without_a_single_access_warns_and_still_reports()
    {
        // Two CR3 loads and an INVLPG: valid, but nothing an engine's access costs could come from.
        var batch = new EventBatch(4);
        batch.Add(TraceOp.Cr3, value: 0x1000);
        batch.Add(TraceOp.Invlpg, va: 0x4000);
        batch.Add(TraceOp.Cr3, value: 0x2000);
        string trace = await _files.WriteAsync("noaccess.pq", batch);

        var (code, _, stderr) = await Cli.RunAsync(trace, "--engine", "shadow-flush", "--out", _d.File("r"));
        Assert.Equal(0, code);
        Assert.Equal("replay: warning: noaccess.pq has no read, write or fetch events, so every engine's access costs are 0.", stderr.TrimEnd());
        Assert.True(File.Exists(_d.File("r/summary.parquet")));

        // A trace with an access does not warn.
        batch.Add(TraceOp.Read, va: 0x4000);
        trace = await _files.WriteAsync("onereads.pq", batch);
        (code, _, stderr) = await Cli.RunAsync(trace, "--engine", "shadow-flush", "--out", _d.File("r2"));
        Assert.Equal(0, code);
        Assert.DoesNotContain("warning", stderr);
    }
}
