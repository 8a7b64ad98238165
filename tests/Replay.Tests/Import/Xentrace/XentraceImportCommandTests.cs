using Replay.Analysis.Reports;
using Replay.Engines.Trace;
using Replay.Import.Xentrace;
using Replay.Tests.Cli;
using Replay.TraceIO;

namespace Replay.Tests.Import.Xentrace;

/// <summary><c>replay import xentrace</c> end to end: the measured report, the trace, the report and compare commands on them, bad input.</summary>
public sealed class XentraceImportCommandTests : IDisposable
{
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    private static string Sample => Samples.File(Path.Combine("xentrace", "xentrace.bin"));

    [Fact]
    public async Task The_samples_ept_violations_become_a_trace_that_replays_under_every_engine_with_verify_and_strict()
    {
        // The sample is a HAP guest (d14 on EPT): no CR3 writes or shadow faults, 282 NPF records, all on d14v1 and
        // all with qualification bit 1 (write): 282 stores in one physical-view process, run on vCPU 1 mod 2 = 1.
        string trace = _d.File("t.pq");
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "xentrace", Sample, "-o", trace, "--vcpus", "2");
        Assert.True(code == 0, stderr);
        Assert.StartsWith($"{trace}: domain 14: 282 records (0 fetches, 0 loads, 282 stores, 0 modifies) from 1 input in 1 process; 0 bad skipped", stdout, StringComparison.Ordinal);
        await using (var reader = await TraceReader.OpenAsync(trace))
        {
            Assert.Equal($"replay import xentrace {Sample} --vcpus 2", reader.Metadata["replay.source"]);
            var batch = new EventBatch(1 << 16);
            var vcpus = new HashSet<ushort>();
            long writes = 0;
            while (await reader.ReadNextAsync(batch))
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    if (batch.Op[i] == (byte)TraceOp.Write)
                    {
                        writes++;
                        vcpus.Add(batch.Vcpu[i]);
                        Assert.InRange(batch.Va[i], XenGuestImporter.PhysicalViewBase, XenGuestImporter.PhysicalViewBase + (1UL << 32));
                    }
                }
            }

            // Each first touch of a page faults and is retried: at least the 282 writes, every one on vCPU 1.
            Assert.True(writes >= 282, $"{writes} writes");
            Assert.Equal([(ushort)1], vcpus);
        }

        (code, _, stderr) = await Cli.Cli.RunAsync(trace, "--engine", "all", "--engine", "shadow-cached:personality=kvm", "--verify", "--strict", "--out", _d.File("r"));
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task The_html_report_compare_and_export_accept_the_measured_folder_beside_a_replays()
    {
        string trace = _d.File("t.pq"), measured = _d.File("measured"), replayed = _d.File("replayed");
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "xentrace", Sample, "--report", measured, "-o", trace);
        Assert.True(code == 0, stderr);
        (code, _, stderr) = await Cli.Cli.RunAsync(trace, "--engine", "ept", "--out", replayed);
        Assert.True(code == 0, stderr);

        (code, var stdout, stderr) = await Cli.Cli.RunAsync("report", replayed, measured, "--html", _d.File("r.html"));
        Assert.True(code == 0, stderr);
        string html = await File.ReadAllTextAsync(_d.File("r.html"));
        Assert.Contains(XenMeasuredReport.Engine, html, StringComparison.Ordinal);
        Assert.Contains("EPT_VIOLATION", html, StringComparison.Ordinal);
        Assert.Contains("ept", html, StringComparison.Ordinal);
        (code, _, stderr) = await Cli.Cli.RunAsync("report", measured, "--html", _d.File("m.html"));
        Assert.True(code == 0, stderr);

        // Different traces and engines: no row is matched, every row is on one side; that is no regression.
        (code, stdout, stderr) = await Cli.Cli.RunAsync("compare", replayed, measured, "-o", _d.File("cmp"));
        Assert.True(code == 0, stderr);
        Assert.Contains("0 rows compared: 0 regression(s)", stdout, StringComparison.Ordinal);
        var rows = await ReportReader.ReadCompareAsync(Path.Combine(_d.File("cmp"), ReportWriter.CompareFile));
        Assert.Contains(rows, r => r is { Engine: XenMeasuredReport.Engine, Phase: "d14v1", Status: "only_in_current" });

        (code, _, stderr) = await Cli.Cli.RunAsync("export", measured, "-o", _d.File("csv"));
        Assert.True(code == 0, stderr);
        Assert.Contains("xen-measured", await File.ReadAllTextAsync(Path.Combine(_d.File("csv"), "exits.csv")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_file_is_one_sentence_with_its_offset_and_leaves_nothing_behind()
    {
        // The first 1,000,000 bytes of the sample end inside CPU 0's block at byte 976,884, which declares 34,212 bytes
        // of which 23,104 are there (computed by walking the CPU_CHANGE headers).
        string cut = _d.File("cut.bin");
        await File.WriteAllBytesAsync(cut, (await File.ReadAllBytesAsync(Sample))[..1_000_000]);
        await File.WriteAllTextAsync(_d.File("old.pq"), "previous");
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "xentrace", cut, "--report", _d.File("m"), "-o", _d.File("old.pq"));
        Assert.Equal(1, code);
        Assert.Equal($"replay: {cut}: byte 976884: truncated: CPU 0's block declares 34212 bytes but the file ends 23104 bytes after its header.", stderr.Trim());
        Assert.Equal("", stdout);
        Assert.Equal(["cut.bin", "old.pq"], Directory.GetFileSystemEntries(_d.Path).Select(Path.GetFileName).Order());
        Assert.Equal("previous", await File.ReadAllTextAsync(_d.File("old.pq")));

        // --skip-bad keeps the whole records of the cut block and counts the block once.
        (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "xentrace", cut, "--skip-bad", "--report", _d.File("m"));
        Assert.True(code == 0, stderr);
        var counters = await ReportReader.ReadCountersAsync(Path.Combine(_d.File("m"), ReportWriter.CountersFile));
        Assert.Equal(1, counters.Single(c => c.Name == "bad_records").Value);
    }

    [Fact]
    public async Task A_foreign_file_or_one_with_nothing_valid_fails_and_a_missing_output_is_a_usage_error()
    {
        string text = Samples.File("cachelab/yi.trace");
        var (code, _, stderr) = await Cli.Cli.RunAsync("import", "xentrace", text, "--report", _d.File("m"));
        Assert.Equal(1, code);
        Assert.StartsWith($"replay: {text}: byte 0: not a xentrace file", stderr, StringComparison.Ordinal);

        // Only an empty CPU block: nothing to import, even with --skip-bad.
        string empty = _d.File("empty.bin");
        await File.WriteAllBytesAsync(empty, new XenTraceBuilder().Cpu(3).Bytes());
        (code, _, stderr) = await Cli.Cli.RunAsync("import", "xentrace", empty, "--skip-bad", "--report", _d.File("m"));
        Assert.Equal(1, code);
        Assert.Equal($"replay: {empty}: byte 12: no per-CPU block holds a record; nothing to import.", stderr.Trim());

        // Records, but no guest memory event: a report is fine, a trace is not.
        string sched = _d.File("sched.bin");
        new XenTraceBuilder().Cpu(0).Runstate(100, 1, 0, 1, 0).Exit(200, 10).Entry(300).WriteTo(sched);
        (code, _, stderr) = await Cli.Cli.RunAsync("import", "xentrace", sched, "-o", _d.File("t.pq"));
        Assert.Equal(1, code);
        Assert.StartsWith($"replay: {sched}: byte 0: no guest memory event", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(_d.File("t.pq")));
        (code, _, stderr) = await Cli.Cli.RunAsync("import", "xentrace", sched, "--report", _d.File("m2"));
        Assert.True(code == 0, stderr);

        (code, _, stderr) = await Cli.Cli.RunAsync("import", "xentrace", sched);
        Assert.Equal(2, code);
        Assert.Contains("needs --report DIR, -o TRACE or both", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_shadow_guests_cr3_writes_and_faults_become_processes_and_accesses()
    {
        // d1v0: CR3 0x1000 then a user write fault (ec 0x6: W, U) at 0x400000, a kernel-half fault (ignored),
        // CR3 0x2000 then a fetch fault (ec 0x14: I/D, U... bit 4) at 0x401000, CR3 0x1000 again (the first
        // process again) and a read at 0x400008. Two processes, one load, one store, one fetch, one ignored.
        var b = new XenTraceBuilder().Cpu(0).Runstate(100, 1, 0, 1, 0)
            .Exit(200, 28).NoTsc(XenEvents.CrWrite | XenEvents.Flag64, 3, 0x1000, 0).Entry(210)
            .Exit(300, 0).NoTsc(XenEvents.PfXen | XenEvents.Flag64, 0x400000, 0, 0x6).Entry(310)
            .Exit(400, 0).NoTsc(XenEvents.PfXen | XenEvents.Flag64, 0x1000, 0xffff8000, 0x2).Entry(410)
            .Exit(500, 28).NoTsc(XenEvents.CrWrite | XenEvents.Flag64, 3, 0x2000, 0).Entry(510)
            .Exit(600, 0).NoTsc(XenEvents.PfXen | XenEvents.Flag64, 0x401000, 0, 0x14).Entry(610)
            .Exit(700, 28).NoTsc(XenEvents.CrWrite | XenEvents.Flag64, 3, 0x1000, 0).Entry(710)
            .Exit(800, 0).NoTsc(XenEvents.PfXen | XenEvents.Flag64, 0x400008, 0, 0x4).Entry(810);
        b.WriteTo(_d.File("s.bin"));
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "xentrace", _d.File("s.bin"), "-o", _d.File("s.pq"));
        Assert.True(code == 0, stderr);
        Assert.Contains("domain 1: 3 records (1 fetches, 1 loads, 1 stores, 0 modifies) from 1 input in 2 processes; 0 bad skipped; 1 ignored", stdout, StringComparison.Ordinal);
        (code, _, stderr) = await Cli.Cli.RunAsync(_d.File("s.pq"), "--engine", "all", "--verify", "--strict", "--out", _d.File("r"));
        Assert.True(code == 0, stderr);
    }
}
