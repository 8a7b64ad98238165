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
/// <c>--skip N</c>, <c>--warmup N</c> and <c>--limit N</c> on <c>run</c> (issue 14 part 4), the driver's row range:
/// skipped rows replay their page-table ops but no access, warm-up rows replay in full, and neither is counted.
/// </summary>
public sealed class RowRangeTests : IDisposable
{
    private const ulong Root = 0x10, Pdpt = 0x11, Pd = 0x12, Pt = 0x13, Data = 0x100;
    private const ulong Table = Pte.Present | Pte.Rw | Pte.Us;
    private const ulong Va = 0x40_0000; // PD index 2, PT indexes 0 to 3 for the four pages

    private static readonly long[] WarmUps = [1, 999, 1_000, 4_321];

    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>
    /// Rows 0–6: ptinit of a 4-level hierarchy mapping four user pages at <see cref="Va"/>; row 7: cr3; rows 8–11,
    /// 12–15 and 16–19: reads of pages 0, 1, 2, 3 in turn, three rounds. A plain native run misses its TLB on the
    /// first round only: 4 misses.
    /// </summary>
    private static EventBatch ThreeRounds(bool marks = false)
    {
        var b = new EventBatch(32);
        if (marks)
        {
            b.Add(TraceOp.Mark, value: 1);
        }

        b.Add(TraceOp.PtInit, pa: Root << 12, value: (Pdpt << 12) | Table);
        b.Add(TraceOp.PtInit, pa: Pdpt << 12, value: (Pd << 12) | Table);
        b.Add(TraceOp.PtInit, pa: (Pd << 12) + (2 * 8), value: (Pt << 12) | Table);
        for (ulong k = 0; k < 4; k++)
        {
            b.Add(TraceOp.PtInit, pa: (Pt << 12) + (k * 8), value: ((Data + k) << 12) | Table);
        }

        b.Add(TraceOp.Cr3, value: Root << 12);
        for (int round = 0; round < 3; round++)
        {
            if (marks && round == 1)
            {
                b.Add(TraceOp.Mark, value: 2);
            }

            for (ulong k = 0; k < 4; k++)
            {
                b.Add(TraceOp.Read, va: Va + (k << 12), user: true);
            }
        }

        return b;
    }

    private static async Task<EngineStats> NativeAsync(string path, long skip = 0, long warmup = 0, long? limit = null)
    {
        var outcome = await ReplayDriver.RunAsync(new ReplayRequest(path, [EngineRegistry.Parse(EngineRegistry.NativeName)], TlbGeometry.Default,
            Skip: skip, Warmup: warmup, Limit: limit));
        return Assert.Single(outcome.Result.Engines).All;
    }

    [Theory]
    // (skip, warmup, limit) → (events, accesses, cr3 loads, TLB misses)
    [InlineData(0, 0, null, 20, 12, 1, 4)]      // plain run: the first round misses
    [InlineData(0, 12, null, 8, 8, 0, 0)]       // warm-up through round 1: its 4 misses are not counted, rounds 2 and 3 hit
    [InlineData(12, 0, null, 8, 8, 0, 4)]       // round 1 skipped: the tables and cr3 are replayed, the TLB stays cold
    [InlineData(8, 0, null, 12, 12, 0, 4)]      // only table ops skipped: they still replay, so every access counts as in a plain run
    [InlineData(8, 4, null, 8, 8, 0, 0)]        // skip the tables, warm up round 1
    [InlineData(0, 12, 4, 4, 4, 0, 0)]          // warm-up, then round 2 only
    [InlineData(0, 0, 10, 10, 2, 1, 2)]         // rows 0–9: pages 0 and 1 of round 1
    [InlineData(10, 0, 3, 3, 3, 0, 3)]          // rows 10–12 with pages 0 and 1 never replayed: pages 2, 3 miss, then 0 misses
    [InlineData(0, 20, null, 0, 0, 0, 0)]       // warm-up covers the whole trace
    [InlineData(25, 0, 5, 0, 0, 0, 0)]          // skip past the end
    [InlineData(long.MaxValue, long.MaxValue, int.MaxValue, 0, 0, 0, 0)] // a range past any trace, its end not overflowing
    public async Task Skipped_and_warm_up_rows_are_not_counted_and_only_warm_up_warms_the_tlb(long skip, long warmup, int? limit,
        long events, long accesses, long cr3, long misses)
    {
        string path = await _files.WriteAsync("rounds.pq", ThreeRounds(), new TraceInfo { Vcpus = 1 });

        EngineStats all = await NativeAsync(path, skip, warmup, limit);

        Assert.Equal((events, accesses, cr3, misses), (all.Events, all.Accesses, all.Cr3Loads, all.TlbMisses));
    }

    [Fact]
    public async Task The_phase_a_skip_or_warm_up_ends_in_carries_on_counted_and_the_first_window_starts_at_the_first_counted_row()
    {
        // Rows: 0 mark a, 1–7 tables, 8 cr3, 9–12 round 1 (misses), 13 mark b, 14–17 round 2 (hits); windows of 4.
        // --warmup 10: counted rows 10–17. Phase a: rows 10–12 (pages 1–3 miss, page 0's miss was warm-up): 3 events,
        // 3 misses; phase b: rows 13–17, 5 events, 0 misses. Windows: 2 = rows 10–11 (2 misses), 3 = rows 12–15
        // (1 miss), 4 = rows 16–17.
        var info = new TraceInfo { Vcpus = 1, Markers = new Dictionary<ulong, string> { [1] = "a", [2] = "b" } };
        var b = ThreeRounds(marks: true);
        b.Count = 18;
        string path = await _files.WriteAsync("marks.pq", b, info);

        var warm = Assert.Single((await ReplayDriver.RunAsync(new ReplayRequest(path, [], TlbGeometry.Default, Window: 4, Warmup: 10))).Result.Engines);

        Assert.Equal([("a", 3L, 3L), ("b", 5L, 0L)], warm.Phases.Select(p => (p.Phase, p.Stats.Events, p.Stats.TlbMisses)));
        Assert.Equal([(2L, 10L, 11L, 2L, 2L), (3L, 12L, 15L, 4L, 1L), (4L, 16L, 17L, 2L, 0L)],
            warm.Windows.Select(w => (w.Window, w.FirstEvent, w.LastEvent, w.Stats.Events, w.Stats.TlbMisses)));
        Assert.Equal((8L, 3L), (warm.All.Events, warm.All.TlbMisses));

        // --skip 10 instead: row 9 (page 0) is never replayed, so phase b's read of page 0 misses too.
        var skip = Assert.Single((await ReplayDriver.RunAsync(new ReplayRequest(path, [], TlbGeometry.Default, Window: 4, Skip: 10))).Result.Engines);

        Assert.Equal([("a", 3L, 3L), ("b", 5L, 1L)], skip.Phases.Select(p => (p.Phase, p.Stats.Events, p.Stats.TlbMisses)));
        Assert.Equal((8L, 4L), (skip.All.Events, skip.All.TlbMisses));
    }

    [Fact]
    public async Task A_skip_of_0_and_a_warm_up_of_0_count_exactly_as_a_plain_run_and_a_limit_as_the_trace_cut_there()
    {
        // Generated ctxswitch rows through every kind of engine: --skip 0 --warmup 0 gives the plain run's counts, phases
        // and windows field by field; --limit N gives those of the trace's first N rows written as a trace of their own.
        string path = _files.PathOf("ctx.pq");
        await GenCommand.GenerateAsync(Workloads.Find("ctxswitch")!, path, seed: 3, events: 12_000);
        ReadBack whole = await TraceFiles.ReadAllAsync(path);
        whole.Rows.Count = 7_777;
        string cut = await _files.WriteAsync("cut.pq", whole.Rows, whole.Info, whole.HasTime, rowGroupSize: 1_000);
        EngineSpec[] engines = [EngineRegistry.Parse("shadow-flush"), EngineRegistry.Parse("shadow-cached"), EngineRegistry.Parse("writable-pt"), EngineRegistry.Parse("ept")];

        var plain = await ReplayDriver.RunAsync(new ReplayRequest(path, engines, TlbGeometry.Default, Window: 1_000));
        var zero = await ReplayDriver.RunAsync(new ReplayRequest(path, engines, TlbGeometry.Default, Window: 1_000, Skip: 0, Warmup: 0));
        var limited = await ReplayDriver.RunAsync(new ReplayRequest(path, engines, TlbGeometry.Default, Window: 1_000, Limit: 7_777));
        var ofCut = await ReplayDriver.RunAsync(new ReplayRequest(cut, engines, TlbGeometry.Default, Window: 1_000));

        Assert.Equal(Everything(plain), Everything(zero));
        Assert.Equal(Everything(ofCut), Everything(limited));
        Assert.Equal((12_000L, 7_777L), (plain.Counted, limited.Counted));
        Assert.All(plain.Result.Engines, e => Assert.True(e.All.TlbMisses > 0 && e.Windows.Count == 12, $"{e.Engine}: {e.All.TlbMisses} misses, {e.Windows.Count} windows"));
    }

    [Fact]
    public async Task Warm_up_only_removes_counts_and_every_count_after_it_adds_up_over_the_windows()
    {
        // Properties on a generated trace: a warm-up of W rows counts total − W events, never more of any count than the
        // plain run, and the counted windows add up to the counted run.
        string path = _files.PathOf("ctx.pq");
        await GenCommand.GenerateAsync(Workloads.Find("ctxswitch")!, path, seed: 5, events: 9_000);
        EngineSpec[] engines = [EngineRegistry.Parse("shadow-cached"), EngineRegistry.Parse("ept")];
        var plain = await ReplayDriver.RunAsync(new ReplayRequest(path, engines, TlbGeometry.Default, Window: 1_000));

        foreach (long w in WarmUps)
        {
            var warm = await ReplayDriver.RunAsync(new ReplayRequest(path, engines, TlbGeometry.Default, Window: 1_000, Warmup: w));
            foreach (var e in warm.Result.Engines)
            {
                var p = plain.Result.Engines.Single(x => x.Engine == e.Engine).All;
                Assert.Equal(9_000 - w, e.All.Events);
                Assert.True(e.All.TlbMisses <= p.TlbMisses && e.All.Exits <= p.Exits && e.All.WalkRefs <= p.WalkRefs, $"{e.Engine} after {w}");
                Assert.Equal(e.All.Events, e.Windows.Sum(x => x.Stats.Events));
                Assert.Equal(e.All.TlbMisses, e.Windows.Sum(x => x.Stats.TlbMisses));
                Assert.Equal(e.All.Exits, e.Windows.Sum(x => x.Stats.Exits));
                Assert.Equal(w, e.Windows.First().FirstEvent);
            }
        }
    }

    /// <summary>Every count of every engine: the whole run, each phase and each window.</summary>
    private static List<string> Everything(ReplayOutcome o) => [.. o.Result.Engines.SelectMany(e =>
        new[] { e.Engine + " all " + Counts(e.All) }
            .Concat(e.Phases.Select(p => e.Engine + " " + p.Phase + " " + Counts(p.Stats)))
            .Concat(e.Windows.Select(w => $"{e.Engine} window {w.Window} {w.FirstEvent}-{w.LastEvent} {w.TimeNs} {Counts(w.Stats)}")))];

    private static string Counts(EngineStats s) => string.Join(", ", typeof(EngineStats)
        .GetFields(BindingFlags.Public | BindingFlags.Instance)
        .Select(f => f.Name + "=" + f.GetValue(s))
        .Concat([string.Join("/", s.ExitCounts), string.Join("/", s.ExitUnits), string.Join("/", s.Counters)]));
}
