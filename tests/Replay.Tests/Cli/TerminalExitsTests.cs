using System.Globalization;
using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

/// <summary>The terminal summary lists exits by reason and handler, as <c>perf kvm stat report</c> does.</summary>
public sealed class TerminalExitsTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public async Task With_several_vcpus_a_per_vcpu_table_lists_each_engine_and_vcpu_as_the_report_does()
    {
        string trace = _d.File("kb2.pq");
        await Cli.RunAsync("gen", "kernel-build", "-o", trace, "--events", "5000", "--vcpus", "2");
        var (code, stdout, err) = await Cli.RunAsync(trace, "--engine", "shadow-cached", "--engine", "ept", "--out", _d.File("r"));
        Assert.True(code == 0, err);
        var vcpus = (await ReportReader.ReadVcpusAsync(_d.File("r/vcpus.parquet"))).Where(v => v.Phase == "all").ToList();

        // "engine vcpu events emulated_writes exits guest_faults ...": one line per (engine, vCPU) with the file's values.
        var lines = stdout.Split('\n').SkipWhile(l => !l.Contains("per vCPU", StringComparison.Ordinal)).Skip(2)
            .TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal)).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(vcpus.Select(v => (v.Engine, (long)v.Vcpu, v[ReportMetrics.Events], v[ReportMetrics.EmulatedWrites], v[ReportMetrics.Exits], v[ReportMetrics.GuestFaults])),
            lines.Select(l => (l[0], N(l[1]), N(l[2]), N(l[3]), N(l[4]), N(l[5]))));

        // One vCPU: no such table (it would repeat the summary).
        (code, stdout, err) = await Cli.RunAsync(Path.Combine(SampleTraceTests.RepoRoot(), "traces", "ctxswitch.pq"), "--engine", "ept", "--out", _d.File("one"));
        Assert.True(code == 0, err);
        Assert.DoesNotContain("per vCPU", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exits_by_reason_and_handler_add_up_to_the_summary_and_the_report()
    {
        string trace = Path.Combine(SampleTraceTests.RepoRoot(), "traces", "ctxswitch.pq");
        var (code, stdout, err) = await Cli.RunAsync(trace, "--engine", "shadow-cached", "--engine", "ept", "--out", _d.Path);
        Assert.True(code == 0, err);
        var summary = (await ReportReader.ReadSummaryAsync(_d.File("summary.parquet"))).Where(r => r.Phase == "all").ToList();
        var exits = (await ReportReader.ReadExitsAsync(_d.File("exits.parquet"))).Where(r => r.Phase == "all").ToList();

        var lines = stdout.Split('\n').SkipWhile(l => !l.Contains("exits by reason and handler:", StringComparison.Ordinal)).Skip(2)
            .TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal)).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        foreach (var s in summary)
        {
            var mine = lines.Where(l => l[0] == s.Engine).ToList();
            // One line per (reason, handler) the report has, its count and cycles as written; the exit counts (not
            // WITHIN_EXIT) add to summary exits, every line's cycles to exit_cycles, and the shares to 100%.
            Assert.Equal(exits.Count(e => e.Engine == s.Engine && (e.Count > 0 || e.Cycles > 0)), mine.Count);
            Assert.Equal(s.Exits, mine.Where(l => l[1] != "WITHIN_EXIT").Sum(l => N(l[3])));
            foreach (var l in mine)
            {
                var e = exits.Single(e => e.Engine == s.Engine && e.Reason == l[1] && e.Handler == l[2]);
                Assert.Equal(e.Count, N(l[3]));
                Assert.Equal(Math.Round(e.Cycles).ToString("N0", CultureInfo.InvariantCulture), l[l[1] == "WITHIN_EXIT" ? 4 : 5]);
            }

            // Heaviest first.
            Assert.Equal(mine.Select(l => N(l[l[1] == "WITHIN_EXIT" ? 4 : 5])).OrderDescending(), mine.Select(l => N(l[l[1] == "WITHIN_EXIT" ? 4 : 5])));
        }

        // ctxswitch's 66,465 switches are 66,465 CR3 exits of shadow-cached, 99.9% of its 66,515 exits.
        Assert.Contains(lines, l => l.Take(5).SequenceEqual(["shadow-cached", "CR_ACCESS", "cr3_switch", "66,465", "99.9%"]));
    }

    private static long N(string s) => long.Parse(s, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
}
