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

namespace Replay.Tests.Driver;

/// <summary>
/// Timeline windows spilled as they close (issue 15, item 9): a run at <c>--window 1</c> holds one window at a time, not
/// one per event, and reads back exactly the windows a run that keeps them in memory has.
/// </summary>
public sealed class WindowSpillTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(0L)]
    [InlineData(700L)] // the windows of the 700 warm-up rows are written, then dropped when counting starts
    public async Task At_window_1_a_spilled_run_holds_one_window_at_a_time_and_reads_back_every_window_a_run_in_memory_keeps(long warmup)
    {
        // 3,000 ctxswitch events, every engine, one window per event: in memory each engine holds all its windows at
        // once (what every run did before); spilled, at most the one being written.
        string path = _files.PathOf("ctx.pq");
        await GenCommand.GenerateAsync(Workloads.Find("ctxswitch")!, path, seed: 1, events: 3_000);
        string spill = Directory.CreateDirectory(_files.PathOf("spill")).FullName;
        var engines = EngineRegistry.AllDefaults().ToList();

        var kept = await ReplayDriver.RunAsync(new ReplayRequest(path, engines, TlbGeometry.Default, Window: 1, Warmup: warmup));
        var spilled = await ReplayDriver.RunAsync(new ReplayRequest(path, engines, TlbGeometry.Default, Window: 1, Warmup: warmup, WindowSpill: spill));

        long windows = kept.Counted;
        Assert.Equal(3_000 - warmup, windows);
        Assert.Equal(kept.Result.Engines.Select(e => e.Engine), spilled.Result.Engines.Select(e => e.Engine));
        foreach (var (k, s) in kept.Result.Engines.Zip(spilled.Result.Engines))
        {
            Assert.Equal((windows, windows), (k.Windows.Count, (long)((WindowLog)k.Windows).PeakResident));
            Assert.Equal((windows, 1), (s.Windows.Count, ((WindowLog)s.Windows).PeakResident));
            Assert.Equal(k.Windows.Select(Describe), s.Windows.Select(Describe));
            Assert.Equal(warmup, s.Windows.First().FirstEvent);
        }

        Assert.Equal(kept.Result.Engines.Count, Directory.GetFiles(spill).Length); // one file per engine: the warm-up's were truncated, not added
    }

    [Fact]
    public void Every_count_of_a_window_survives_the_spill()
    {
        // Every public field of EngineStats and every exit and counter slot gets a different value, negative and past
        // 2^32 among them; all must come back but SegmentPeak, the driver's scratch, which no window carries (0).
        var stats = new EngineStats(3, 4);
        long v = 1;
        foreach (var f in typeof(EngineStats).GetFields(BindingFlags.Public | BindingFlags.Instance))
        {
            f.SetValue(stats, (v++ % 3 == 0 ? -1 : 1) * (v << 30));
        }

        for (int i = 0; i < 3; i++)
        {
            stats.ExitCounts[i] = v++;
            stats.ExitUnits[i] = i == 1 ? 0 : v++ << 33;
        }

        stats.Counters[2] = -7;
        var window = new WindowResult(5, 17, 29, -3, stats);
        var codec = new WindowCodec(3, 4);
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            codec.Write(w, window);
            codec.Write(w, window with { TimeNs = null, Stats = new EngineStats(3, 4) });
        }

        bytes.Position = 0;
        using var r = new BinaryReader(bytes);
        stats.SegmentPeak = 0;
        Assert.Equal(Describe(window), Describe(codec.Read(r)));
        Assert.Equal("5 17-29 - " + Describe(new EngineStats(3, 4)), Describe(codec.Read(r)));
        Assert.Equal(bytes.Length, bytes.Position);
    }

    [Fact]
    public async Task A_run_that_fails_leaves_no_spilled_window_behind()
    {
        // 4,000 reads in row groups of 1,000; the last reads a non-canonical va: a warning, with --strict the error that
        // ends the run in the last batch, after the engines spilled the windows of the three batches before it.
        var b = new EventBatch(4_000);
        for (int i = 0; i < 3_999; i++)
        {
            b.Add(TraceOp.Read, va: 0x1000 + ((ulong)i % 8 * 0x1000));
        }

        b.Add(TraceOp.Read, va: 0x0000_8000_0000_0000);
        string path = await _files.WriteAsync("bad.pq", b, new TraceInfo { Vcpus = 1 }, rowGroupSize: 1_000);
        string spill = Directory.CreateDirectory(_files.PathOf("spill")).FullName;

        await Assert.ThrowsAnyAsync<Exception>(() => ReplayDriver.RunAsync(
            new ReplayRequest(path, [EngineRegistry.Parse("shadow-flush")], TlbGeometry.Default, Window: 1, Strict: true, WindowSpill: spill)));

        Assert.Empty(Directory.GetFiles(spill));
    }

    private static string Describe(WindowResult w) =>
        $"{w.Window} {w.FirstEvent}-{w.LastEvent} {(w.TimeNs is long t ? t : "-")} " + Describe(w.Stats);

    /// <summary>Every field and every exit and counter slot.</summary>
    private static string Describe(EngineStats s) => string.Join(", ", typeof(EngineStats)
        .GetFields(BindingFlags.Public | BindingFlags.Instance)
        .Select(f => f.Name + "=" + f.GetValue(s))
        .Concat([string.Join("/", s.ExitCounts), string.Join("/", s.ExitUnits), string.Join("/", s.Counters)]));
}
