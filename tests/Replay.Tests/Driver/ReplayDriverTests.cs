using Replay.Analysis.Reports;
using Replay.Driver;
using Replay.Engines.Contract;
using Replay.Engines.Tlb;
using Replay.Engines.Trace;
using Replay.Tests.Trace;

namespace Replay.Tests.Driver;

/// <summary>The driver's own counts (the ones engines never touch), per run, phase and window.</summary>
public sealed class ReplayDriverTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Instructions_are_fetches_plus_insns_over_the_run_each_phase_and_each_window()
    {
        // Ten rows, windows of 4, marks 1 = "a" (row 3) and 2 = "b" (row 6):
        //   row: 0 fetch+5  1 read  2 fetch+3 | 3 mark a  4 fetch+10  5 write+2 | 6 mark b  7 fetch+4,294,967,295  8 fetch+1  9 read+7
        // All: fetches 0, 2, 4, 7, 8 = 5; Σ insns = 5 + 3 + 10 + 2 + 4,294,967,295 + 1 + 7 = 4,294,967,323; instructions 4,294,967,328.
        // Phase a (rows 3–5): 1 fetch, insns 12, instructions 13. Phase b (rows 6–9): 2 fetches, insns 4,294,967,303,
        // instructions 4,294,967,305. Windows: rows 0–3: 2 fetches, insns 8 → 10; rows 4–7: fetches 4 and 7,
        // insns 10 + 2 + 4,294,967,295 = 4,294,967,307 → 4,294,967,309; rows 8–9: 1 fetch, insns 8 → 9.
        var b = new EventBatch(10);
        b.Add(TraceOp.Fetch, va: 0x1000, insns: 5);
        b.Add(TraceOp.Read, va: 0x2000);
        b.Add(TraceOp.Fetch, va: 0x1004, insns: 3);
        b.Add(TraceOp.Mark, value: 1);
        b.Add(TraceOp.Fetch, va: 0x1008, insns: 10);
        b.Add(TraceOp.Write, va: 0x2008, insns: 2);
        b.Add(TraceOp.Mark, value: 2);
        b.Add(TraceOp.Fetch, va: 0x100c, insns: uint.MaxValue);
        b.Add(TraceOp.Fetch, va: 0x1010, insns: 1);
        b.Add(TraceOp.Read, va: 0x2010, insns: 7);
        var info = new TraceInfo { Vcpus = 1, Markers = new Dictionary<ulong, string> { [1] = "a", [2] = "b" } };
        string path = await _files.WriteAsync("insns.pq", b, info);

        ReplayOutcome outcome = await ReplayDriver.RunAsync(
            new ReplayRequest(path, [EngineRegistry.Parse(EngineRegistry.NativeName)], TlbGeometry.Default, Window: 4));

        EngineRunResult native = Assert.Single(outcome.Result.Engines);
        Assert.Equal((4_294_967_323L, 4_294_967_328L), (native.All.Insns, native.All.Instructions));
        Assert.Equal(["a", "b"], native.Phases.Select(p => p.Phase));
        Assert.Equal([(12L, 13L), (4_294_967_303L, 4_294_967_305L)], native.Phases.Select(p => (p.Stats.Insns, p.Stats.Instructions)));
        Assert.Equal([(8L, 10L), (4_294_967_307L, 4_294_967_309L), (8L, 9L)], native.Windows.Select(w => (w.Stats.Insns, w.Stats.Instructions)));
    }

    [Fact]
    public async Task A_trace_without_insns_counts_its_fetch_events_as_its_instructions()
    {
        // 3 fetches and 2 reads from a file with no insns column: instructions 3, insns 0.
        string path = await _files.DuckAsync("noinsns.pq",
            "SELECT * FROM (VALUES (2::UTINYINT, 4096::UBIGINT), (0, 8192), (2, 4100), (0, 8200), (2, 4104)) t(op, va)");

        ReplayOutcome outcome = await ReplayDriver.RunAsync(
            new ReplayRequest(path, [EngineRegistry.Parse(EngineRegistry.NativeName)], TlbGeometry.Default));

        EngineStats all = Assert.Single(outcome.Result.Engines).All;
        Assert.Equal((0L, 3L, 5L), (all.Insns, all.Instructions, all.Accesses));
    }
}
