using Replay.Engines.Trace;
using Replay.Import;
using Replay.Tests.Cli;
using Replay.TraceIO;

namespace Replay.Tests.Import;

/// <summary><c>replay import</c> end to end: the trace it writes, its summary, its errors and exit codes.</summary>
public sealed class ImportCommandTests : IDisposable
{
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public async Task Two_lackey_files_with_slice_2_give_ten_cr3_loads_and_say_where_they_came_from()
    {
        // See LackeyImporterTests: yi (7 records) and dave (5) with slice 2 run in 7 alternating turns (yi 2,
        // dave 2, yi 2, dave 2, yi 2, dave 1, yi 1): 7 switches. The guest kernel adds three loads of the idle
        // address space (init_mm): for the kernel work of creating the processes before any runs, and after
        // each of the two exits (dave's after its last turn, then yi's). 7 + 3 = 10.
        string yi = Samples.File("cachelab/yi.trace");
        string dave = Samples.File("cachelab/dave.trace");
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "lackey", yi, dave, "--slice", "2", "-o", _d.File("t.pq"));
        Assert.True(code == 0, stderr);
        Assert.Contains("12 records (0 fetches, 6 loads, 4 stores, 2 modifies)", stdout, StringComparison.Ordinal);
        var (ops, meta) = await ReadAsync(_d.File("t.pq"));
        Assert.Equal(10, ops[(int)TraceOp.Cr3]);
        Assert.Equal(2, ops[(int)TraceOp.Mark]);
        Assert.Equal($"replay import lackey {yi} {dave} --slice 2", meta["replay.source"]);
        Assert.Equal("{\"1\":\"yi.trace\",\"2\":\"dave.trace\"}", meta["replay.markers"]);
        Assert.Contains("\"modifies\":2", meta[ImportOutput.StatsKey], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_line_fails_with_file_and_line_and_leaves_an_existing_output_alone()
    {
        await File.WriteAllTextAsync(_d.File("bad.trace"), " L 10,4\n S 20,4\n X 30,4\n");
        await File.WriteAllTextAsync(_d.File("out.pq"), "previous");
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "lackey", _d.File("bad.trace"), "-o", _d.File("out.pq"));
        Assert.Equal(1, code);
        Assert.StartsWith($"replay: {_d.File("bad.trace")}:3: expected", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Equal("previous", await File.ReadAllTextAsync(_d.File("out.pq")));
        Assert.Equal(["bad.trace", "out.pq"], Directory.GetFiles(_d.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Skip_bad_counts_the_lines_it_skipped_and_stores_the_count()
    {
        await File.WriteAllTextAsync(_d.File("bad.trace"), " L 10,4\n S 20,4\n X 30,4\n ??\n M 40,4\n");
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "lackey", _d.File("bad.trace"), "--skip-bad", "-o", _d.File("out.pq"));
        Assert.True(code == 0, stderr);
        Assert.Contains("2 bad skipped", stdout, StringComparison.Ordinal);
        var (_, meta) = await ReadAsync(_d.File("out.pq"));
        Assert.Contains("\"bad_records\":2", meta[ImportOutput.StatsKey], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_input_or_a_bad_option_fails_cleanly()
    {
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "drmemtrace", _d.File("nope"), "-o", _d.File("o.pq"));
        Assert.Equal(1, code);
        Assert.Contains("nope: no such file.", stderr, StringComparison.Ordinal);
        (code, _, _) = await Cli.Cli.RunAsync("import", "lackey", _d.File("x"), "--slice", "0", "-o", _d.File("o.pq"));
        Assert.Equal(2, code);
        (code, _, _) = await Cli.Cli.RunAsync("import", "lackey", _d.File("x"));
        Assert.Equal(2, code);
    }

    [Theory]
    [InlineData("lackey", "")]
    [InlineData("drmemtrace", "")]
    [InlineData("lackey", "--pcid --kpti --memory 64M")]
    [InlineData("drmemtrace", "--pcid --thp --levels 5")]
    public async Task An_imported_trace_replays_with_verify_and_strict_under_every_engine(string format, string kernel)
    {
        string[] inputs = format == "lackey"
            ? [Samples.File("lackey/lackey_tiny_n1000.txt.gz"), Samples.File("cachelab/trans.trace")]
            : [Samples.ThreadSig];
        string trace = _d.File("t.pq");
        var (code, _, stderr) = await Cli.Cli.RunAsync(["import", format, .. inputs, "--vcpus", "2", "--limit", "20000", "-o", trace,
            .. kernel.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        Assert.True(code == 0, stderr);
        (code, var stdout, stderr) = await Cli.Cli.RunAsync(trace, "--engine", "all", "--engine", "shadow-cached:personality=kvm",
            "--verify", "--strict", "--out", _d.File("reports"));
        Assert.True(code == 0, stderr);
        Assert.Contains("shadow-cached", stdout, StringComparison.Ordinal);
        await using var reader = await TraceReader.OpenAsync(trace);
        Assert.Equal(kernel.Contains("--pcid", StringComparison.Ordinal), reader.Info.Pcid);
        Assert.Equal(kernel.Contains("--levels 5", StringComparison.Ordinal) ? 5 : 4, reader.Info.PagingLevels);
    }

    [Fact]
    public async Task The_drmemtrace_sample_keeps_every_instruction_as_a_fetch_event_or_insns()
    {
        // The two threads hold 1,499,865 instructions, 869,788 of them fetches and 630,077 no-fetch (see
        // DrMemTraceImporterTests). All 630,077 go into insns (none left after the last event: the exit's teardown
        // follows). The guest kernel emits 870,364 fetch events: one per fetch record, plus the second page of each of
        // the 510 fetches that cross a page boundary, plus the faulting first fetch of each of the 66 code pages (4 GiB,
        // no THP: a page first fetched, or first touched as data and so no-execute, faults once and is retried):
        // 869,788 + 510 + 66 = 870,364, so the trace's instructions are 1,499,865 + 576 = 1,500,441. Crossings and
        // pages counted with python3 -c "import zipfile,struct,glob;c=0;p=set()
        // for f in glob.glob('drmemtrace.threadsig.*.trace.zip'):
        //  for t,s,a in struct.iter_unpack('<HHQ',zipfile.ZipFile(f).read('chunk.0000')):
        //   if t in (10,11,12,13,14,15,16,30,31,48,49): s=max(s,1);c+=(a+s-1)>>12>a>>12;p.update(range(a>>12,((a+s-1)>>12)+1))
        // print(c,len(p))" in ../shared/samples/drmemtrace/threadsig (prints 510 66).
        string trace = _d.File("dr.pq");
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "drmemtrace", Samples.ThreadSig, "-o", trace);
        Assert.True(code == 0, stderr);
        Assert.Contains("1,499,865 instructions (630,077 without a fetch event)", stdout, StringComparison.Ordinal);

        await using var reader = await TraceReader.OpenAsync(trace);
        long fetches = 0, insns = 0;
        var batch = new EventBatch(1 << 16);
        while (await reader.ReadNextAsync(batch))
        {
            fetches += batch.Op.AsSpan(0, batch.Count).Count((byte)TraceOp.Fetch);
            insns += batch.SumInsns(0, batch.Count);
        }

        // The kernel model adds its own work to insns (the exit's teardown at the end is pending, in insns_unwritten).
        using var counts = System.Text.Json.JsonDocument.Parse(reader.Metadata[ImportOutput.StatsKey]);
        var root = counts.RootElement;
        long kernel = root.GetProperty("kernel_insns").GetInt64(), unwritten = root.GetProperty("insns_unwritten").GetInt64();
        Assert.True(kernel > 0);
        Assert.Equal((870_364L, 630_077L + kernel - unwritten), (fetches, insns));
        Assert.Equal((1_499_865L, 630_077L, 869_788L),
            (root.GetProperty("instructions").GetInt64(), root.GetProperty("insns").GetInt64(), root.GetProperty("fetches").GetInt64()));
    }

    [Fact]
    public async Task The_committed_lackey_sample_keeps_every_I_line_as_a_fetch_event()
    {
        // traces/lackey-tiny.pq (traces/README.md): 173,775 I lines, all fetches, no insns. The guest kernel adds
        // 135 second halves of page-crossing fetches and 81 faulting first fetches of code pages: 173,991 fetch
        // events, the trace's instructions. Counted with python3 -c "import gzip,re;n=c=0;p=set()
        // for l in gzip.open('lackey_tiny_n1000.txt.gz','rt'):
        //  m=re.match(r'^I\s+([0-9a-fA-F]+),(\d+)',l)
        //  if m: a=int(m[1],16);s=max(int(m[2]),1);n+=1;c+=(a+s-1)>>12>a>>12;p.update(range(a>>12,((a+s-1)>>12)+1))
        // print(n,c,len(p))" in ../shared/samples/lackey (prints 173775 135 81).
        var (ops, meta) = await ReadAsync(Path.Combine(SampleTraceTests.RepoRoot(), "traces", "lackey-tiny.pq"));
        Assert.Equal(173_775 + 135 + 81, ops[(int)TraceOp.Fetch]);
        Assert.Contains("\"fetches\":173775", meta[ImportOutput.StatsKey], StringComparison.Ordinal);
        Assert.Contains("\"instructions\":173775", meta[ImportOutput.StatsKey], StringComparison.Ordinal);
        Assert.Contains("\"insns\":0", meta[ImportOutput.StatsKey], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_kernel_option_is_a_usage_error()
    {
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "lackey", Samples.File("cachelab/yi.trace"), "--memory", "lots", "-o", _d.File("t.pq"));
        Assert.Equal(2, code);
        Assert.Contains("--memory 'lots'", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_d.File("t.pq")));
    }

    private static async Task<(long[] Ops, IReadOnlyDictionary<string, string> Meta)> ReadAsync(string path)
    {
        await using var reader = await TraceReader.OpenAsync(path);
        var ops = new long[TraceOps.MaxOp + 1];
        var batch = new EventBatch(1 << 16);
        while (await reader.ReadNextAsync(batch))
        {
            for (int i = 0; i < batch.Count; i++)
            {
                ops[batch.Op[i]]++;
            }
        }

        return (ops, reader.Metadata);
    }
}
