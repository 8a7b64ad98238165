using System.Reflection;
using Replay.Analysis.Reports;
using Replay.Cli;
using Replay.Driver;
using Replay.Engines.Contract;
using Replay.Engines.Paging;
using Replay.Engines.Registry;
using Replay.Engines.Tlb;
using Replay.Engines.Trace;
using Replay.Gen;
using Replay.Tests.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Driver;

/// <summary>
/// The per-vCPU breakdown (issue 14 part 4, xenalyze's and <c>perf kvm stat</c>'s per-vCPU view): the driver gives
/// each vCPU what its own events made, and over the vCPUs every count adds up to the run's, the phases' too.
/// </summary>
public sealed class PerVcpuTests : IDisposable
{
    private const ulong Root = 0x10, Pdpt = 0x11, Pd = 0x12, Pt = 0x13, Data = 0x100;
    private const ulong Table = Pte.Present | Pte.Rw | Pte.Us;
    private const ulong Va = 0x40_0000; // PD index 2, PT indexes 0 to 3 for the four pages

    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>
    /// Rows 0–6 (vCPU 0): ptinit of a 4-level hierarchy mapping four user pages at <see cref="Va"/>; row 7: vCPU 0
    /// loads CR3, row 8: vCPU 1 loads the same root; then vCPU 0 reads pages 0, 1 (rows 9–10), vCPU 1 reads pages 0,
    /// 1, 2 (rows 11–13), vCPU 0 reads page 0 again (row 14), vCPU 1 reads page 2 again and page 3 (rows 15–16).
    /// </summary>
    private static EventBatch TwoVcpus()
    {
        var b = new EventBatch(32);
        b.Add(TraceOp.PtInit, pa: Root << 12, value: (Pdpt << 12) | Table);
        b.Add(TraceOp.PtInit, pa: Pdpt << 12, value: (Pd << 12) | Table);
        b.Add(TraceOp.PtInit, pa: (Pd << 12) + (2 * 8), value: (Pt << 12) | Table);
        for (ulong k = 0; k < 4; k++)
        {
            b.Add(TraceOp.PtInit, pa: (Pt << 12) + (k * 8), value: ((Data + k) << 12) | Table);
        }

        b.Add(TraceOp.Cr3, value: Root << 12, vcpu: 0);
        b.Add(TraceOp.Cr3, value: Root << 12, vcpu: 1);
        foreach (var (vcpu, page) in new (int, ulong)[] { (0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (0, 0), (1, 2), (1, 3) })
        {
            b.Add(TraceOp.Read, va: Va + (page << 12), vcpu: vcpu, user: true);
        }

        return b;
    }

    [Fact]
    public async Task Each_vcpu_gets_the_events_misses_and_exits_of_its_own_rows()
    {
        // Each vCPU has its own TLB (SPEC §2). Native: vCPU 0 misses pages 0 and 1 and hits page 0 again (2 misses);
        // vCPU 1 misses pages 0, 1, 2 and 3 and hits page 2 again (4 misses). Events: vCPU 0 has the 7 ptinits, its
        // cr3 and 3 reads (11), vCPU 1 its cr3 and 5 reads (6).
        // shadow-flush (SPEC §3, a per-vCPU shadow emptied at every CR3 load): each vCPU's CR3 load is a CR_ACCESS exit,
        // and each TLB miss finds no shadow entry (its shadow is its own and starts empty), so it is a hidden fault,
        // EXCEPTION_NMI/shadow_fill: vCPU 0 takes 1 + 2 exits, vCPU 1 takes 1 + 4. vCPU 0's first fill builds the
        // shadow's PDPT, PD and PT pages (3 units), its second none; vCPU 1's first builds its own 3.
        string path = await _files.WriteAsync("two.pq", TwoVcpus(), new TraceInfo { Vcpus = 2 });

        var outcome = await ReplayDriver.RunAsync(new ReplayRequest(path, [EngineRegistry.Parse("native"), EngineRegistry.Parse("shadow-flush")], TlbGeometry.Default));

        var native = outcome.Result.Engines.Single(e => e.IsNative);
        Assert.Equal([("all", 0, 11L, 3L, 1L, 2L, 0L), ("all", 1, 6L, 5L, 1L, 4L, 0L)],
            native.Vcpus.Select(v => (v.Phase, v.Vcpu, v.Stats.Events, v.Stats.Accesses, v.Stats.Cr3Loads, v.Stats.TlbMisses, v.Stats.Exits)));
        var flush = outcome.Result.Engines.Single(e => e.Engine == "shadow-flush");
        Assert.Equal([(0, 11L, 2L, 3L), (1, 6L, 4L, 5L)], flush.Vcpus.Select(v => (v.Vcpu, v.Stats.Events, v.Stats.TlbMisses, v.Stats.Exits)));
        int fill = Kind(flush, "shadow_fill"), cr3 = Kind(flush, "cr3_flush");
        Assert.Equal([(1L, 2L, 3L), (1L, 4L, 3L)], flush.Vcpus.Select(v => (v.Stats.ExitCounts[cr3], v.Stats.ExitCounts[fill], v.Stats.ExitUnits[fill])));
        Assert.Equal((17L, 6L, 8L), (flush.All.Events, flush.All.TlbMisses, flush.All.Exits));
    }

    [Fact]
    public async Task The_report_prices_each_vcpu_against_native_on_the_same_vcpu_and_its_rows_add_up_to_the_summary()
    {
        string path = await _files.WriteAsync("two.pq", TwoVcpus(), new TraceInfo { Vcpus = 2 });
        var outcome = await ReplayDriver.RunAsync(new ReplayRequest(path, [EngineRegistry.Parse("shadow-flush")], TlbGeometry.Default));
        var profile = Replay.Analysis.Costs.ProfileCatalog.Resolve("skylake");

        var tables = ReportBuilder.Build(profile, [outcome.Result]);

        Assert.Equal([("shadow-flush", "all", 0), ("shadow-flush", "all", 1)], tables.Vcpus.Select(v => (v.Engine, v.Phase, v.Vcpu)));
        var exits = tables.VcpuExits.Select(x => (x.Vcpu, x.Reason, x.Handler, x.Count, x.Units)).ToList();
        Assert.Equal([(0, "EXCEPTION_NMI", "shadow_fill", 2L, 3L), (0, "CR_ACCESS", "cr3_flush", 1L, 0L), (1, "EXCEPTION_NMI", "shadow_fill", 4L, 3L), (1, "CR_ACCESS", "cr3_flush", 1L, 0L)],
            exits.OrderBy(x => x.Vcpu).ThenBy(x => x.Handler == "cr3_flush").ToList());
        var summary = tables.Summary.Single();
        Assert.Equal(summary.MmuCycles, tables.Vcpus.Sum(v => v[ReportMetrics.MmuCycles]), 6);
        Assert.Equal(summary.OverheadCycles, tables.Vcpus.Sum(v => v[ReportMetrics.OverheadCycles]), 6);
        Assert.Equal(summary.Exits, tables.Vcpus.Sum(v => v[ReportMetrics.Exits]));
        Assert.All(tables.Vcpus, v => Assert.True(v[ReportMetrics.Slowdown] > 1, $"vCPU {v.Vcpu}: {v[ReportMetrics.Slowdown]}"));
        Assert.DoesNotContain(ReportMetrics.ShadowPagesPeak, ReportMetrics.All.Vcpus);
        Assert.DoesNotContain(ReportMetrics.EventsPerSecond, ReportMetrics.All.Vcpus);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(3_333, 0)]
    [InlineData(1_000, 2_500)]
    public async Task Over_the_vcpus_every_count_of_every_engine_adds_up_to_the_run_and_to_each_phase(long skip, long warmup)
    {
        // A generated 4-vCPU kernel build (phases warmup and build) through every engine, with and without a row range.
        string path = _files.PathOf("kb.pq");
        await GenCommand.GenerateAsync(Workloads.Find("kernel-build")!, path, seed: 7, events: 20_000, options: new Replay.Kernel.KernelOptions { Vcpus = 4 });
        var outcome = await ReplayDriver.RunAsync(new ReplayRequest(path, EngineRegistry.AllDefaults().ToList(), TlbGeometry.Default, Window: 4_000,
            Skip: skip, Warmup: warmup));

        // Each vCPU's events and accesses are exactly the counted trace rows of that vCPU (rows skip + warmup onwards).
        var rows = (await TraceFiles.ReadAllAsync(path)).Rows;
        var expected = Enumerable.Range(0, 4).Select(v => Enumerable.Range((int)(skip + warmup), rows.Count - (int)(skip + warmup)).Where(i => rows.Vcpu[i] == v)
            .Aggregate((Events: 0L, Accesses: 0L), (a, i) => (a.Events + 1, a.Accesses + (rows.Op[i] <= (byte)TraceOp.Fetch ? 1 : 0)))).ToList();
        Assert.Equal(EngineRegistry.All.Count, outcome.Result.Engines.Count);
        foreach (var e in outcome.Result.Engines)
        {
            Assert.Equal([0, 1, 2, 3], e.Vcpus.Where(v => v.Phase == "all").Select(v => v.Vcpu));
            Assert.Equal(expected, e.Vcpus.Where(v => v.Phase == "all").Select(v => (v.Stats.Events, v.Stats.Accesses)));
            Assert.Equal(Counts(e.All), Sum(e, "all"));
            foreach (var p in e.Phases)
            {
                Assert.Equal(Counts(p.Stats), Sum(e, p.Phase));
            }

            Assert.True(e.All.Exits == 0 || e.Vcpus.Count(v => v.Phase == "all" && v.Stats.Exits > 0) == 4, e.Engine);
        }
    }

    private static int Kind(EngineRunResult run, string handler) => run.ExitKinds.ToList().FindIndex(k => k.Handler == handler);

    private static string Sum(EngineRunResult e, string phase)
    {
        var mine = e.Vcpus.Where(v => v.Phase == phase).ToList();
        var sum = new EngineStats(e.ExitKinds.Count, e.CounterNames.Count);
        mine.ForEach(v => sum.Add(v.Stats));
        return Counts(sum);
    }

    /// <summary>Every count (every long field but the shadow-pool levels, which are the VM's), exits by kind, units and counters.</summary>
    private static string Counts(EngineStats s) => string.Join(", ", typeof(EngineStats)
        .GetFields(BindingFlags.Public | BindingFlags.Instance)
        .Where(f => f.Name is not (nameof(EngineStats.ShadowPages) or nameof(EngineStats.ShadowPagesPeak) or nameof(EngineStats.SegmentPeak)))
        .Select(f => f.Name + "=" + f.GetValue(s))
        .Concat([string.Join("/", s.ExitCounts), string.Join("/", s.ExitUnits), string.Join("/", s.Counters)]));
}
