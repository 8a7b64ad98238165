using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Replay.Analysis.Reports;
using Replay.Import;
using Replay.Import.Xentrace;
using Replay.Tests.Cli;

namespace Replay.Tests.Import.Xentrace;

/// <summary>
/// Xen's own analyzer as the oracle: on the real sample trace, per domain and vCPU, the exit counts by reason, their
/// total time and their average cycles must be what <c>xenalyze --summary</c> prints (README.md beside this file).
/// </summary>
public sealed partial class XenalyzeOracleTests : IDisposable
{
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    private static string Sample => Samples.File(Path.Combine("xentrace", "xentrace.bin"));

    private static string Committed => Path.Combine(SampleTraceTests.RepoRoot(), "tests", "Replay.Tests", "Import", "Xentrace", "xenalyze-summary.txt");

    /// <summary>xenalyze's installed binary (Debian: /usr/bin/xenalyze from xen-utils-common), or null.</summary>
    private static string? Xenalyze => XenalyzePaths.FirstOrDefault(File.Exists);

    private static readonly string[] XenalyzePaths = ["/usr/bin/xenalyze", "/usr/sbin/xenalyze", "/usr/lib/xen-4.17/bin/xenalyze"];

    [GeneratedRegex(@"^\|-- Domain (\d+) --\|")]
    private static partial Regex DomainLine();

    [GeneratedRegex(@"^-- v(\d+) --")]
    private static partial Regex VcpuLine();

    // PRINT_SUMMARY: " %-20s " name, then " %7d %5.2lfs %5.2lf%% %5lld cyc {p5|p50|p95}" (event_count, seconds, percent, average).
    [GeneratedRegex(@"^ +([A-Z_0-9]+) +(\d+) +(\d+\.\d\d)s +[\d.]+% +(\d+) cyc")]
    private static partial Regex ReasonLine();

    /// <summary>"d14v0 HLT 83 3.28s avg 94721071" for every exit reason line of every vCPU of a xenalyze summary, sorted.</summary>
    private static List<string> ParseSummary(string text)
    {
        var lines = new List<string>();
        string? domain = null, vcpu = null;
        bool inExits = false;
        foreach (string line in text.Split('\n'))
        {
            if (DomainLine().Match(line) is { Success: true } d)
            {
                (domain, vcpu, inExits) = (d.Groups[1].Value, null, false);
            }
            else if (VcpuLine().Match(line) is { Success: true } v)
            {
                (vcpu, inExits) = (v.Groups[1].Value, false);
            }
            else if (line.StartsWith("Exit reasons:", StringComparison.Ordinal))
            {
                inExits = vcpu is not null;
            }
            else if (line.StartsWith("Guest interrupt counts:", StringComparison.Ordinal))
            {
                inExits = false;
            }
            else if (inExits && ReasonLine().Match(line) is { Success: true } r)
            {
                string name = int.TryParse(r.Groups[1].Value, CultureInfo.InvariantCulture, out int code) ? VmxExitReasons.Name(code) : r.Groups[1].Value;
                lines.Add($"d{domain}v{vcpu} {name} {r.Groups[2].Value} {r.Groups[3].Value}s avg {r.Groups[4].Value}");
            }
        }

        return [.. lines.Order(StringComparer.Ordinal)];
    }

    /// <summary>The same lines from this importer's measurement of the sample.</summary>
    private static List<string> Ours()
    {
        var m = new XentraceImporter(Sample, new ImportOptions(), null).Measure(240_000_000);
        var lines = new List<string>();
        foreach (var (v, kinds) in m.Exits)
        {
            foreach (var reason in kinds.GroupBy(k => k.Key.Reason))
            {
                long count = reason.Sum(k => k.Value.Count), timed = reason.Sum(k => k.Value.Timed);
                ulong cycles = (ulong)reason.Sum(k => (decimal)k.Value.Cycles);
                string seconds = (cycles / XentraceImport.DefaultCpuHz).ToString("F2", CultureInfo.InvariantCulture);
                lines.Add($"{v} {VmxExitReasons.Name(reason.Key)} {count} {seconds}s avg {(timed == 0 ? 0 : cycles / (ulong)timed)}");
            }
        }

        return [.. lines.Order(StringComparer.Ordinal)];
    }

    [Fact]
    public void The_committed_xenalyze_summary_lists_the_same_exits_per_vcpu_as_the_importer()
    {
        var expected = ParseSummary(File.ReadAllText(Committed));
        Assert.Equal(25, expected.Count); // d14's four vCPUs: 5 + 8 + 6 + 6 reasons; dom0 (PV) and the idle domain have none
        Assert.Contains("d14v1 EPT_VIOLATION 282 0.00s avg 9633", expected);
        Assert.Contains("d14v0 HLT 83 3.28s avg 94721071", expected);
        Assert.Equal(expected, Ours());
    }

    [Fact]
    public async Task Xenalyze_itself_when_installed_agrees_with_the_importer()
    {
        // With xenalyze installed (.ci/run installs xen-utils-4.17) this runs it; without, it falls back to its committed output.
        string text = await File.ReadAllTextAsync(Committed);
        if (Xenalyze is string exe)
        {
            var psi = new ProcessStartInfo(exe, ["--summary", Sample]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            text = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            await stderr;
            Assert.Equal(0, p.ExitCode);
        }

        Assert.Equal(ParseSummary(text), Ours());
    }

    [Fact]
    public async Task The_measured_reports_per_vcpu_phases_hold_the_same_counts_and_cycles()
    {
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "xentrace", Sample, "--report", _d.File("m"));
        Assert.True(code == 0, stderr);
        Assert.Contains("5,869 exits of 4 vCPUs in 1 domains", stdout, StringComparison.Ordinal);
        var exits = await ReportReader.ReadExitsAsync(Path.Combine(_d.File("m"), ReportWriter.ExitsFile));
        Assert.All(exits, e => Assert.Equal(("xen-measured", "measured"), (e.Engine, e.Profile)));
        var summary = await ReportReader.ReadSummaryAsync(Path.Combine(_d.File("m"), ReportWriter.SummaryFile));
        Assert.Equal(["all", "d14", "d14v0", "d14v1", "d14v2", "d14v3"], summary.Select(s => s.Phase));

        // HLT of d14v0 in xenalyze: 83 exits, 3.28 s, 94721071 cycles on average.
        var hlt = exits.Single(e => e.Phase == "d14v0" && e.Reason == "HLT");
        Assert.Equal((12, "hlt", 83L), (hlt.ReasonCode, hlt.Handler, hlt.Count));
        Assert.Equal(94_721_071L, (long)hlt.Cycles / 83);

        // Per vCPU rows add up to the domain's and to all; xenalyze's 282 EPT violations are all d14v1's, handler npf.
        foreach (var phase in new[] { "d14", "all" })
        {
            Assert.Equal(exits.Where(e => e.Phase.StartsWith("d14v", StringComparison.Ordinal)).Sum(e => e.Count), exits.Where(e => e.Phase == phase).Sum(e => e.Count));
        }

        Assert.Equal(5_869, summary.Single(s => s.Phase == "all").Exits);
        Assert.Equal(180_493, summary.Single(s => s.Phase == "all").Events);
        Assert.Equal(282, exits.Single(e => e.Phase == "d14v1" && e.Reason == "EPT_VIOLATION" && e.Handler == "npf").Count);
        Assert.Equal(888, exits.Single(e => e.Phase == "d14v2" && e.Reason == "VMCALL" && e.Handler == "vcpu_op").Count);
        Assert.Equal(41, exits.Single(e => e.Phase == "d14v2" && e.Reason == "VMCALL" && e.Handler == "evtchn_op").Count);
    }
}
