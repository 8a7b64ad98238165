using System.Reflection;
using Replay.Analysis.Reports;
using Replay.Cli;
using Replay.Driver;
using Replay.Engines.Contract;
using Replay.Engines.Registry;
using Replay.Engines.Tlb;
using Replay.Engines.Trace;
using Replay.Gen;
using Replay.Tests.Trace;
using Replay.TraceIO;

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

    [Fact]
    public async Task Engines_replayed_together_over_more_row_groups_than_batches_in_flight_count_exactly_as_each_alone()
    {
        // 30,000 ctxswitch events in row groups of 1,000: 30 batches through the driver's pool of 3, every engine on a
        // thread of its own, some engines running batches ahead of others. Each engine's whole-run, phase and window
        // counts must equal what it counts replayed alone.
        string generated = _files.PathOf("generated.pq");
        await GenCommand.GenerateAsync(Workloads.Find("ctxswitch")!, generated, seed: 1, events: 30_000);
        ReadBack whole = await TraceFiles.ReadAllAsync(generated);
        string path = await _files.WriteAsync("groups.pq", whole.Rows, whole.Info, whole.HasTime, rowGroupSize: 1_000);
        Assert.Equal(30, (await TraceFiles.ReadAllAsync(path)).RowGroupCount);
        string[] engines = ["shadow-flush", "shadow-cached", "shadow-cached:personality=kvm", "writable-pt", "ept"];

        ReplayOutcome together = await ReplayDriver.RunAsync(
            new ReplayRequest(path, [.. engines.Select(EngineRegistry.Parse)], TlbGeometry.Default, Window: 7_000));

        foreach (string engine in engines)
        {
            ReplayOutcome alone = await ReplayDriver.RunAsync(
                new ReplayRequest(path, [EngineRegistry.Parse(engine)], TlbGeometry.Default, Window: 7_000));
            EngineRunResult a = alone.Result.Engines.Single(e => !e.IsNative);
            EngineRunResult t = together.Result.Engines.Single(e => e.Engine == a.Engine);
            Assert.True(a.All.Events == 30_000 && a.All.Exits > 0, $"{engine}: {a.All.Events} events, {a.All.Exits} exits");
            Assert.Equal(Counts(a.All), Counts(t.All));
            Assert.Equal(a.Phases.Select(p => p.Phase + Counts(p.Stats)), t.Phases.Select(p => p.Phase + Counts(p.Stats)));
            Assert.Equal(5, t.Windows.Count);
            Assert.Equal(a.Windows.Select(w => Counts(w.Stats)), t.Windows.Select(w => Counts(w.Stats)));
        }

        Assert.Equal(Counts(alone: together.Result.Engines.Single(e => e.IsNative).All),
            Counts((await ReplayDriver.RunAsync(new ReplayRequest(path, [], TlbGeometry.Default))).Result.Engines.Single().All));
    }

    [Fact]
    public async Task A_bad_row_many_row_groups_in_fails_the_run_naming_it_after_the_engines_replayed_everything_before()
    {
        // 20 row groups of 2,048 reads (written by DuckDB: our writer refuses bad rows); row 30,000 (group 14, well past
        // the 3 batches in flight) has op 200. The reader stops there while the engines may still be replaying earlier
        // groups: the error names the row and column, and no engine's error or a cancellation takes its place.
        string path = await _files.DuckAsync("bad.pq",
            "SELECT (CASE WHEN i = 30000 THEN 200 ELSE 0 END)::UTINYINT AS op, (4194304 + i % 64 * 4096)::UBIGINT AS va FROM range(40960) t(i)",
            "ROW_GROUP_SIZE 2048");
        await using (var reader = await TraceReader.OpenAsync(path))
        {
            Assert.Equal(20, reader.RowGroupCount);
        }

        var error = await Assert.ThrowsAsync<TraceFormatException>(() => ReplayDriver.RunAsync(
            new ReplayRequest(path, [EngineRegistry.Parse("shadow-flush"), EngineRegistry.Parse("shadow-cached"), EngineRegistry.Parse("ept")], TlbGeometry.Default)));

        Assert.Equal((30_000L, "op"), (error.Row, error.Column));
    }

    /// <summary>Every count an engine or the driver keeps, field by field (arrays included), as one string to compare.</summary>
    private static string Counts(EngineStats alone) => string.Join(", ", typeof(EngineStats)
        .GetFields(BindingFlags.Public | BindingFlags.Instance)
        .Select(f => f.Name + "=" + (f.GetValue(alone) is Array a ? string.Join("/", a.Cast<object>()) : f.GetValue(alone))));
}
