using Replay.Analysis.Reports;
using Replay.Engines.Contract;

namespace Replay.Analysis.Tests.Reports;

/// <summary>
/// One trace, a native run and a shadow run, priced with the round test profile (vmexit 1000; shadow_fill 500 +
/// 200/unit; cr3_flush 300 + 2/unit; walk 10/ref, 2/psc hit; guest 1/access, 1000/fault). Phases boot and run.
/// </summary>
public class ReportBuilderTests
{
    internal static readonly ExitKind[] ShadowKinds = [new(ExitReason.ExceptionNmi, "shadow_fill"), new(ExitReason.CrAccess, "cr3_flush")];

    internal static EngineStats Stats(int kinds, long events, long accesses, long ptWrites, long faults, long walkRefs, long pscHits = 0, int counters = 0)
        => new(kinds, counters) { Events = events, Accesses = accesses, PtWrites = ptWrites, GuestFaults = faults, WalkRefs = walkRefs, WalkL1 = walkRefs, PscHits = pscHits };

    /// <summary>
    /// native: boot  400 acc, 10 refs → mmu 100, guest 400, total 500
    ///         run   600 acc, 20 ptw, 2 faults, 30 refs → mmu 300, guest 620 + 2000 = 2620, total 2920
    ///         all   mmu 400, guest 3020, total 3420
    /// shadow: boot  3 fills (4 pages) = 3 × 1500 + 800 = 5300; 20 refs → 200; mmu 5500; guest 400; total 5900
    ///         run   2 cr3 (100 entries) = 2 × 1300 + 200 = 2800; 30 refs + 5 psc → 310; mmu 3110; guest 2620; total 5730
    ///         all   exits 8100, walk 510, mmu 8610, guest 3020, total 11630.
    /// </summary>
    internal static TraceRunResult Trace(bool reportNative)
    {
        var nBoot = Stats(0, 500, 400, 0, 0, 10);
        var nRun = Stats(0, 600, 600, 20, 2, 30);
        var nAll = Stats(0, 1100, 1000, 20, 2, 40);
        var native = new EngineRunResult("native", true, reportNative, [], [], nAll,
            [new("boot", nBoot), new("run", nRun)], [], 1.0);

        var sBoot = Stats(2, 500, 400, 0, 0, 20, counters: 2);
        sBoot.ExitCounts[0] = 3; sBoot.ExitUnits[0] = 4; sBoot.Exits = 3;
        var sRun = Stats(2, 600, 600, 20, 2, 30, 5, counters: 2);
        sRun.ExitCounts[1] = 2; sRun.ExitUnits[1] = 100; sRun.Exits = 2;
        var sAll = sBoot.Clone();
        sAll.Add(sRun);
        sAll.Counters[0] = 5;
        sAll.Counters[1] = 1;
        sAll.SetShadowPages(4);

        var w0 = sBoot.Clone();
        var w1 = sRun.Clone();
        w1.SetShadowPages(4);
        var shadow = new EngineRunResult("shadow-flush", false, true, ShadowKinds, ["shadow_fault", "dirty_faults"], sAll,
            [new("boot", sBoot), new("run", sRun)],
            [new(0, 0, 499, 1_000, w0), new(1, 500, 1099, null, w1)],
            2.2);
        return new TraceRunResult("t.pq", "abc123", [native, shadow]);
    }

    [Fact]
    public void Summary_prices_every_phase_and_measures_overhead_against_native()
    {
        var t = ReportBuilder.Build(TestProfiles.Round, [Trace(reportNative: false)]);
        Assert.Equal(["all", "boot", "run"], t.Summary.Select(r => r.Phase));
        Assert.All(t.Summary, r => Assert.Equal(("t.pq", "abc123", "shadow-flush", "round"), (r.Trace, r.TraceSha256, r.Engine, r.Profile)));

        var all = t.Summary[0];
        Assert.Equal((8100.0, 510.0, 8610.0, 3020.0, 11630.0), (all.ExitCycles, all.WalkCycles, all.MmuCycles, all.GuestCycles, all.TotalCycles));
        Assert.Equal(8610 - 400, all.OverheadCycles);           // 8210
        Assert.Equal(8210.0 / 1000 * 1000, all.OverheadPerKaccess);
        Assert.Equal(11630.0 / 3420, all.Slowdown);
        Assert.Equal((1100L, 1000L, 20L, 2L, 50L, 5L, 5L), (all.Events, all.Accesses, all.PtWrites, all.GuestFaults, all.WalkRefs, all.PscHits, all.Exits));
        Assert.Equal(4, all.ShadowPagesPeak);

        var boot = t.Summary[1];
        Assert.Equal(5500 - 100, boot.OverheadCycles);          // 5400
        Assert.Equal(5400.0 / 400 * 1000, boot.OverheadPerKaccess); // 13500
        Assert.Equal(5900.0 / 500, boot.Slowdown);               // 11.8

        var run = t.Summary[2];
        Assert.Equal(3110 - 300, run.OverheadCycles);           // 2810
        Assert.Equal(5730.0 / 2920, run.Slowdown);
    }

    [Fact]
    public void Replay_seconds_are_apportioned_to_phases_by_events()
    {
        // 2.2 s for 1100 events: all 2.2 s; boot 500/1100 × 2.2 = 1.0 s; run 1.2 s; every phase runs at 500 events/s.
        var t = ReportBuilder.Build(TestProfiles.Round, [Trace(reportNative: false)]);
        Assert.Equal(2.2, t.Summary[0].ReplaySeconds);
        Assert.Equal(1.0, t.Summary[1].ReplaySeconds, 12);
        Assert.Equal(1.2, t.Summary[2].ReplaySeconds, 12);
        Assert.All(t.Summary, r => Assert.Equal(500, r.EventsPerSecond, 9));
    }

    [Fact]
    public void An_unreported_native_run_has_no_rows_but_a_reported_one_does_with_no_overhead()
    {
        var hidden = ReportBuilder.Build(TestProfiles.Round, [Trace(reportNative: false)]);
        Assert.DoesNotContain(hidden.Summary, r => r.Engine == "native");
        Assert.DoesNotContain(hidden.Timeline, r => r.Engine == "native");

        var shown = ReportBuilder.Build(TestProfiles.Round, [Trace(reportNative: true)]);
        var native = shown.Summary.Where(r => r.Engine == "native").ToList();
        Assert.Equal(["all", "boot", "run"], native.Select(r => r.Phase));
        Assert.All(native, r => Assert.Equal((0.0, 0.0, 1.0), (r.OverheadCycles, r.OverheadPerKaccess, r.Slowdown)));
        Assert.Equal(3420, native[0].TotalCycles);
        Assert.Equal(6, shown.Summary.Count);
    }

    [Fact]
    public void Exit_rows_list_only_kinds_that_happened_in_each_phase()
    {
        // all: both kinds; boot: shadow_fill only; run: cr3_flush only.
        var t = ReportBuilder.Build(TestProfiles.Round, [Trace(reportNative: true)]);
        Assert.Equal(
            [("all", "shadow_fill", 3L, 4L, 5300.0), ("all", "cr3_flush", 2L, 100L, 2800.0), ("boot", "shadow_fill", 3L, 4L, 5300.0), ("run", "cr3_flush", 2L, 100L, 2800.0)],
            t.Exits.Select(r => (r.Phase, r.Handler, r.Count, r.Units, r.Cycles)));
        Assert.Equal(("EXCEPTION_NMI", 0), (t.Exits[0].Reason, t.Exits[0].ReasonCode));
        Assert.Equal(("CR_ACCESS", 28), (t.Exits[1].Reason, t.Exits[1].ReasonCode));
    }

    [Fact]
    public void Timeline_prices_each_window_and_keeps_missing_time_null()
    {
        // window 0 = boot's counts: mmu 5500; window 1 = run's: 3110; shadow pages at each window's end.
        var t = ReportBuilder.Build(TestProfiles.Round, [Trace(reportNative: false)]);
        Assert.Equal(
            [(0L, 0L, 499L, (long?)1000, 5500.0, 0L), (1L, 500L, 1099L, null, 3110.0, 4L)],
            t.Timeline.Select(r => (r.Window, r.FirstEvent, r.LastEvent, r.TimeNs, r.MmuCycles, r.ShadowPages)));
        Assert.Equal([3L, 2L], t.Timeline.Select(r => r.Exits));
    }

    [Fact]
    public void Counters_are_the_engine_counters_for_the_whole_trace()
    {
        var t = ReportBuilder.Build(TestProfiles.Round, [Trace(reportNative: true)]);
        Assert.Equal([("shadow-flush", "shadow_fault", 5L), ("shadow-flush", "dirty_faults", 1L)], t.Counters.Select(c => (c.Engine, c.Name, c.Value)));
    }

    [Fact]
    public void Slowdown_is_never_NaN()
    {
        Assert.Equal(1.0, ReportBuilder.Slowdown(0, 0));
        Assert.Equal(double.PositiveInfinity, ReportBuilder.Slowdown(5, 0));
        Assert.Equal(2.0, ReportBuilder.Slowdown(10, 5));
    }

    [Fact]
    public void Overhead_per_kaccess_is_zero_without_accesses()
    {
        var native = new EngineRunResult("native", true, false, [], [], Stats(0, 1, 0, 0, 0, 0), [], [], 0);
        var s = Stats(2, 1, 0, 0, 0, 0);
        s.ExitCounts[1] = 1;
        s.Exits = 1;
        var shadow = new EngineRunResult("shadow-flush", false, true, ShadowKinds, [], s, [], [], 0);
        var row = Assert.Single(ReportBuilder.Build(TestProfiles.Round, [new TraceRunResult("t", "h", [native, shadow])]).Summary);
        Assert.Equal(1300, row.OverheadCycles);
        Assert.Equal(0, row.OverheadPerKaccess);
        Assert.Equal(double.PositiveInfinity, row.Slowdown);
        Assert.Equal(0, row.EventsPerSecond);
    }

    [Fact]
    public void A_trace_without_exactly_one_native_run_is_rejected()
    {
        var t = Trace(reportNative: false);
        var noNative = t with { Engines = t.Engines.Where(e => !e.IsNative).ToList() };
        var e = Assert.Throws<ArgumentException>(() => ReportBuilder.Build(TestProfiles.Round, [noNative]));
        Assert.Contains("native", e.Message, StringComparison.Ordinal);
    }
}
