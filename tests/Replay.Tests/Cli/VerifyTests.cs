using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Tests.Trace;

namespace Replay.Tests.Cli;

/// <summary>--verify stops at the first access whose translation differs from a fresh walk, naming the event.</summary>
public sealed class VerifyTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Verify_catches_a_stale_TLB_entry_left_by_a_remap_without_INVLPG()
    {
        string trace = await StaleTraceAsync();

        var (code, _, err) = await Cli.RunAsync(trace, "--engine", "native", "--verify", "--out", _files.PathOf("r"));

        Assert.Equal(1, code);
        Assert.StartsWith("replay: native: --verify failed at event 7", err, StringComparison.Ordinal);
        Assert.Contains("page 0x100000", err);
        Assert.Contains("page 0x200000", err);

        // Every engine replays at once: one sentence, naming the engine whose translation was wrong.
        (code, _, err) = await Cli.RunAsync(trace, "--engine", "all", "--verify", "--out", _files.PathOf("r3"));
        Assert.Equal(1, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Matches("^replay: [a-z-]+(:[a-z_=0-9,]+)?: --verify failed at event 7", err);

        // Without --verify the run completes and the checker counts the broken coherence rule.
        (code, var stdout, _) = await Cli.RunAsync(trace, "--engine", "native", "--out", _files.PathOf("r2"));
        Assert.Equal(0, code);
        Assert.Contains("1 trace warning(s)", stdout);
    }

    [Theory]
    [InlineData("native", "ept")]
    [InlineData("ept", "native")]
    public async Task When_several_engines_fail_at_once_the_first_in_engine_order_is_named_and_the_others_listed(string first, string second)
    {
        // native and ept both keep the stale TLB entry and fail at event 7, the same event: the tie goes to the first
        // named, whichever thread got there first, and the other is listed. Eight runs: the same line every time.
        string trace = await StaleTraceAsync();
        var lines = new HashSet<string>();
        for (int run = 0; run < 8; run++)
        {
            var (code, _, err) = await Cli.RunAsync(trace, "--engine", first, "--engine", second, "--verify", "--out", _files.PathOf($"r{run}"));
            Assert.Equal(1, code);
            lines.Add(Assert.Single(err.Trim().Split('\n')));
        }

        string line = Assert.Single(lines);
        Assert.StartsWith($"replay: {first}: --verify failed at event 7", line, StringComparison.Ordinal);
        Assert.EndsWith($"In the same row group {second} failed --verify too.", line, StringComparison.Ordinal);
    }

    /// <summary>
    /// Events 0-3 build the tables and load CR3; 4 maps va 0x400000 -> frame 0x100; 5 reads it (now cached);
    /// 6 remaps it to frame 0x200 with no invalidation; 7 reads it again: native hardware still uses the
    /// cached frame 0x100, but a fresh walk gives 0x200.
    /// </summary>
    private async Task<string> StaleTraceAsync()
    {
        const ulong pt = 0x13;
        const ulong table = Pte.Present | Pte.Rw | Pte.Us;
        var b = new EventBatch(8);
        b.Add(TraceOp.PtInit, pa: 0x10 << 12, value: (0x11UL << 12) | table);
        b.Add(TraceOp.PtInit, pa: 0x11 << 12, value: (0x12UL << 12) | table);
        b.Add(TraceOp.PtInit, pa: (0x12 << 12) + 16, value: (pt << 12) | table);
        b.Add(TraceOp.Cr3, value: 0x10 << 12);
        b.Add(TraceOp.PtWrite, pa: pt << 12, value: (0x100UL << 12) | table);
        b.Add(TraceOp.Read, va: 0x40_0000, user: true);
        b.Add(TraceOp.PtWrite, pa: pt << 12, value: (0x200UL << 12) | table);
        b.Add(TraceOp.Read, va: 0x40_0000, user: true);
        return await _files.WriteAsync("stale.pq", b, new TraceInfo { Vcpus = 1 });
    }
}
