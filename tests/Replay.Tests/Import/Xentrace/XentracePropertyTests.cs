using Replay.Import.Xentrace;
using Replay.Tests.Cli;

namespace Replay.Tests.Import.Xentrace;

/// <summary>Properties of the merge and of the exit measurement on generated traces.</summary>
public sealed class XentracePropertyTests : IDisposable
{
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Any_split_of_the_cpus_records_into_blocks_merges_to_every_record_in_tsc_then_cpu_order(int seed)
    {
        // Each CPU's records have non-decreasing TSCs (some without one: they take the previous); the blocks of the
        // CPUs come in a random interleaving. The merge must keep each CPU's order and emit (tsc, cpu) in order.
        var rng = new Random(seed);
        int cpus = rng.Next(1, 6);
        var perCpu = new List<List<(ulong Tsc, bool HasTsc, uint Id)>>();
        uint id = 0;
        for (int c = 0; c < cpus; c++)
        {
            ulong tsc = (ulong)rng.Next(0, 100);
            var list = new List<(ulong, bool, uint)>();
            for (int i = 0, n = rng.Next(1, 300); i < n; i++)
            {
                bool has = i == 0 || rng.Next(4) > 0;
                if (has)
                {
                    tsc += (ulong)rng.Next(0, 20);
                }

                list.Add((tsc, has, id++));
            }

            perCpu.Add(list);
        }

        var b = new XenTraceBuilder();
        var next = new int[cpus];
        while (next.Select((n, c) => n < perCpu[c].Count).Any(x => x))
        {
            int c = rng.Next(cpus);
            if (next[c] >= perCpu[c].Count)
            {
                continue;
            }

            b.Cpu(c);
            for (int k = 0, n = rng.Next(1, 40); k < n && next[c] < perCpu[c].Count; k++, next[c]++)
            {
                var (tsc, has, rid) = perCpu[c][next[c]];
                _ = has ? b.At(tsc, 0x00082013, rid) : b.NoTsc(0x00082013, rid);
            }
        }

        string path = _d.File("p.bin");
        b.WriteTo(path);
        using var f = XentraceFile.Open(path, skipBad: false);
        var merged = f.Records().ToList();
        Assert.Equal(perCpu.Sum(l => l.Count), merged.Count);
        for (int c = 0; c < cpus; c++)
        {
            Assert.Equal(perCpu[c].Select(r => r.Id), merged.Where(r => r.Cpu == c).Select(r => r.Word(0)));
            Assert.Equal(perCpu[c].Select(r => r.Tsc), merged.Where(r => r.Cpu == c).Select(r => r.Tsc));
        }

        for (int i = 1; i < merged.Count; i++)
        {
            Assert.True((merged[i - 1].Tsc, merged[i - 1].Cpu).CompareTo((merged[i].Tsc, merged[i].Cpu)) <= 0, $"record {i} out of order");
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Each_closed_exit_counts_once_with_its_entry_minus_exit_tsc(int seed)
    {
        // Two vCPUs on two CPUs, random exits: most closed by a VMENTRY after a random gap, some followed directly by
        // another VMEXIT (the first is then dropped as unclosed; the last exit is always closed). The expected tallies are
        // kept while generating.
        var rng = new Random(seed);
        var b = new XenTraceBuilder();
        var expected = new Dictionary<(int Vcpu, int Reason), (long Count, ulong Cycles)>();
        long unclosed = 0;
        for (int cpu = 0; cpu < 2; cpu++)
        {
            ulong tsc = 1000;
            b.Cpu(cpu).Runstate(tsc, 7, cpu, 1, 0);
            for (int i = 0; i < 200; i++)
            {
                int reason = rng.Next(0, 60);
                ulong exit = tsc += (ulong)rng.Next(1, 500);
                b.Exit(exit, (uint)reason);
                if (i < 199 && rng.Next(10) == 0)
                {
                    unclosed++;
                    continue; // the next VMEXIT replaces this one
                }

                ulong entry = tsc += (ulong)rng.Next(1, 5000);
                b.Entry(entry);
                var e = expected.GetValueOrDefault((cpu, reason));
                expected[(cpu, reason)] = (e.Count + 1, e.Cycles + (entry - exit));
            }
        }

        string path = _d.File("e.bin");
        b.WriteTo(path);
        var m = new XenMeasurement { WindowCycles = 1000 };
        var model = new XenTraceModel(m);
        using (var f = XentraceFile.Open(path, skipBad: false))
        {
            foreach (var r in f.Records())
            {
                model.Process(r);
            }
        }

        var actual = m.Exits.SelectMany(v => v.Value.Select(k => (Key: (v.Key.Vcpu, k.Key.Reason), k.Value)))
            .GroupBy(x => x.Key).ToDictionary(g => g.Key, g => (g.Sum(x => x.Value.Count), (ulong)g.Sum(x => (decimal)x.Value.Cycles)));
        Assert.Equal(expected.OrderBy(e => e.Key).ToList(), actual.OrderBy(a => a.Key).ToList());
        Assert.Equal(unclosed, m.Counters.GetValueOrDefault("exits_unclosed"));
        Assert.Equal(m.Windows.Values.Sum(w => w.Values.Sum(t => t.Count)), actual.Sum(a => a.Value.Item1));
    }
}
