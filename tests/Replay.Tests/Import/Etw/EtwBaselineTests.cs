using System.Globalization;
using System.Text.RegularExpressions;
using Replay.Import.Etw;
using Replay.Tests.Cli;
using Xunit;

namespace Replay.Tests.Import.Etw;

/// <summary>
/// The managed ETL reader against TraceEvent's own decode of the same file (perfview's baseline, extract committed
/// beside this file with its source URL and commit): process IDs, PageDirectoryBase (DirectoryTableBase) values,
/// hard-fault threads, processes and addresses, and the per-kind counts.
/// </summary>
public sealed partial class EtwBaselineTests
{
    private static readonly string Extract = Path.Combine(SampleTraceTests.RepoRoot(), "tests", "Replay.Tests", "Import", "Etw", "net.4.5.2.x64.baseline.extract.txt");

    [Fact]
    public void The_header_says_what_TraceEvent_shows()
    {
        var r = EtlReader.Read(Samples.File("etl/net.4.5.2.x64.etl.zip"), skipBad: false);

        // Baseline EventTrace line: BufferSize=65,536; NumberOfProcessors=8; PointerSize=8; LogFileMode=67,174,401; BuffersWritten=360.
        Assert.Equal(new EtlHeader(8, 8, 65536, 67_174_401, 360, r.Header.PerfFreq, r.Header.StartTimeQpc), r.Header);
        Assert.Equal(10_000_000, r.Header.PerfFreq);
    }

    [Fact]
    public void Counts_of_each_kernel_event_kind_match_the_baseline()
    {
        var r = EtlReader.Read(Samples.File("etl/net.4.5.2.x64.etl.zip"), skipBad: false);
        var counts = r.Events.GroupBy(e => EtwKernel.Name(e.Group, e.Opcode)).ToDictionary(g => g.Key, g => g.Count());
        var expected = File.ReadLines(Extract).Select(l => CountLine().Match(l)).Where(m => m.Success)
            .Select(m => (Kind: m.Groups[1].Value, Count: int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(12, expected.Count);
        foreach (var (kind, count) in expected)
        {
            Assert.True(counts.TryGetValue(kind, out int got) && got == count, $"{kind}: baseline {count}, read {got}");
        }
    }

    [Fact]
    public void Process_ids_and_page_directory_bases_match_the_baseline_in_order()
    {
        var r = EtlReader.Read(Samples.File("etl/net.4.5.2.x64.etl.zip"), skipBad: false);
        foreach (string kind in new[] { "Start", "Stop", "DCStart", "DCStop", "Defunct" })
        {
            var expected = BaselineEvents($"Process/{kind}")
                .Select(f => (Pid: int.Parse(f["ProcessID"].Replace(",", ""), CultureInfo.InvariantCulture), Dtb: Hex(f["PageDirectoryBase"]), Name: f["ImageFileName"]))
                .ToList();
            Assert.NotEmpty(expected);
            var got = r.Events.Where(e => EtwKernel.Name(e.Group, e.Opcode) == $"Process/{kind}").Take(expected.Count)
                .Select(e => EtwPayloads.Process(e, 8)).Select(p => (Pid: p.ProcessID, Dtb: p.DirectoryTableBase, Name: p.ImageFileName)).ToList();
            Assert.Equal(expected, got);
        }
    }

    [Fact]
    public void Hard_faults_have_the_baseline_threads_processes_and_addresses()
    {
        var r = EtlReader.Read(Samples.File("etl/net.4.5.2.x64.etl.zip"), skipBad: false);
        var expected = BaselineEvents("Memory/HardFault")
            .Select(f => (Pid: int.Parse(f["PID"], CultureInfo.InvariantCulture), Tid: int.Parse(f["TID"], CultureInfo.InvariantCulture), Va: Hex(f["VirtualAddress"])))
            .ToList();
        Assert.Equal(5, expected.Count);

        // TraceEvent gives a hard fault its thread from the payload and the process from the thread's last Start/DCStart.
        var threadPid = new Dictionary<int, int>();
        var got = new List<(int, int, ulong)>();
        foreach (var e in r.Events)
        {
            if (e.Group == EtwKernel.GroupThread && e.Opcode is EtwKernel.Start or EtwKernel.DCStart)
            {
                var t = EtwPayloads.Thread(e, 8);
                threadPid[t.ThreadID] = t.ProcessID;
            }
            else if (e.Group == EtwKernel.GroupMemory && e.Opcode == EtwKernel.HardFault && got.Count < expected.Count)
            {
                var h = EtwPayloads.HardFault(e, 8);
                got.Add((threadPid[h.ThreadID], h.ThreadID, h.VirtualAddress));
            }
        }

        Assert.Equal(expected, got);
    }

    private static ulong Hex(string s) => ulong.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static IEnumerable<Dictionary<string, string>> BaselineEvents(string kind) =>
        File.ReadLines(Extract).Where(l => l.StartsWith("EVENT ", StringComparison.Ordinal) && l.Contains($"Windows Kernel/{kind} ", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf($"Windows Kernel/{kind} ", StringComparison.Ordinal) + kind.Length + 16)..]
                .Split("; ", StringSplitOptions.RemoveEmptyEntries)
                .Select(kv => kv.Split('=', 2))
                .Where(kv => kv.Length == 2)
                .GroupBy(kv => kv[0].Trim())
                .ToDictionary(g => g.Key, g => g.First()[1].TrimEnd(';', ' ')));

    [GeneratedRegex(@"^COUNT Windows Kernel/(\S+):(\d+)$")]
    private static partial Regex CountLine();
}
