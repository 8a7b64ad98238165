using Replay.Cli;
using Replay.Gen;

namespace Replay.Tests.Cli;

/// <summary>
/// A cancelled replay (Ctrl-C and SIGTERM cancel System.CommandLine's token, which is the one cancelled here) stops in
/// one line with exit 130 and leaves the old report folder as it was.
/// </summary>
public sealed class CancelTests
{
    [Fact]
    public async Task A_replay_cancelled_while_it_runs_says_so_in_one_line_exits_130_and_leaves_the_old_reports()
    {
        Assert.True(OperatingSystem.IsLinux(), "watches /proc/self/fd for the trace (Linux only, like CI)");
        using var d = Cli.Temp();
        string trace = d.File("ctx.pq");
        await GenCommand.GenerateAsync(Workloads.Find("ctxswitch")!, trace, seed: 1, events: 3_000_000);
        string reports = d.File("reports");
        Directory.CreateDirectory(reports);
        await File.WriteAllTextAsync(Path.Combine(reports, "summary.parquet"), "old report");

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var cancel = new CancellationTokenSource();
        Task<int> run = Task.Run(() => CliApp.RunAsync([trace, "--engine", "all", "--out", reports], stdout, stderr, cancel.Token));

        // Cancel once the replay is under way: the trace is open.
        var until = DateTime.UtcNow.AddMinutes(2);
        while (!run.IsCompleted && Trace.TraceFileHandleTests.OpenDescriptorsOf(trace) == 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(10);
        }

        Assert.False(run.IsCompleted, "the replay ended before it could be cancelled: " + stderr);
        await cancel.CancelAsync();

        Assert.Equal(130, await run);
        Assert.Equal(("", "replay: cancelled."), (stdout.ToString(), stderr.ToString().Trim()));
        Assert.Equal(["summary.parquet"], Directory.GetFiles(reports).Select(Path.GetFileName));
        Assert.Equal("old report", await File.ReadAllTextAsync(Path.Combine(reports, "summary.parquet")));
    }
}
