using System.Diagnostics;
using System.Text.Json;

namespace Replay.Tests.Sweep;

/// <summary>
/// <c>replay sweep --slurm</c> against a real single-node Slurm cluster (slurmctld, slurmd, munge), started by
/// <c>tools/slurm/start-single-node.sh</c> (which <c>.ci/run</c> calls before the tests; here again, a quick no-op
/// when the node is up). No mock: when the cluster cannot be started, the test fails.
/// </summary>
public sealed class SlurmSweepTests
{
    [Fact]
    public async Task A_grid_submitted_as_one_job_array_fills_the_dataset_and_the_final_job_writes_the_manifest()
    {
        StartCluster();
        using var d = Cli.Cli.Temp();
        string dir = d.File("sweep");

        // 12 cells in chunks of 5: an array of 3 tasks (5, 5 and 2 cells), at most 2 running at once.
        var (code, stdout, err) = await Cli.Cli.RunAsync(["sweep", .. SweepDataset.GridArgs, "--out", dir, "--window", "5000",
            "--slurm", "--wait", "--cells-per-task", "5", "--max-running", "2", "--slurm-opts", "--time=00:20:00 --job-name=replay-test"]);
        Assert.True(code == 0, $"{stdout}\n{err}\n{Logs(dir)}");
        Assert.Matches(@"sweep: submitted job array \d+ \(3 tasks, 12 cells\) and final job \d+", stdout);
        Assert.Contains("sweep: 12 cells: 12 done, 0 failed, 0 pending", stdout, StringComparison.Ordinal);
        await SweepDataset.AssertCompleteAsync(dir);

        // A task's cell holds what 'replay run' writes for it here: the same counts, phase by phase.
        string trace = Path.Combine(dir, "_work", "traces", SweepDataset.Traces[1]);
        Assert.Equal(0, (await Cli.Cli.RunAsync("run", trace, "--engine", "ept", "--profile", "nehalem", "--out", d.File("byhand"), "--window", "5000")).Code);
        var byHand = await Analysis.Reports.ReportReader.ReadSummaryAsync(d.File("byhand/summary.parquet"));
        var inTask = await Analysis.Reports.ReportReader.ReadSummaryAsync(Path.Combine(dir, Replay.Sweep.HivePath.CellFolder("ept", "nehalem", SweepDataset.Traces[1]), "summary.parquet"));
        Assert.Equal(byHand.Select(r => (r.Phase, r.Exits, r.TlbMisses, r.WalkRefs, r.MmuCycles)), inTask.Select(r => (r.Phase, r.Exits, r.TlbMisses, r.WalkRefs, r.MmuCycles)));

        // The cells ran in the array's tasks (other processes), the final job checked them and wrote the manifest.
        using (var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "manifest.json"))))
        {
            Assert.Equal(12, manifest.RootElement.GetProperty("done").GetInt32());
        }

        var logs = Directory.GetFiles(Path.Combine(dir, "_sweep", "logs"));
        Assert.Equal(3, logs.Count(f => Path.GetFileName(f).StartsWith("task-", StringComparison.Ordinal)));
        Assert.Contains("sweep: 12 cells: 12 done", await File.ReadAllTextAsync(logs.Single(f => Path.GetFileName(f).StartsWith("final-", StringComparison.Ordinal))), StringComparison.Ordinal);

        // Submitting again finds every cell done and submits nothing.
        (code, stdout, err) = await Cli.Cli.RunAsync(["sweep", .. SweepDataset.GridArgs, "--out", dir, "--window", "5000", "--slurm", "--wait"]);
        Assert.True(code == 0, err);
        Assert.Contains("nothing submitted", stdout, StringComparison.Ordinal);
    }

    private static void StartCluster()
    {
        string script = Path.Combine(RepoRoot(), "tools", "slurm", "start-single-node.sh");
        var psi = new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{script} could not start Slurm: {output.Result}{error}");
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Replay.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Replay.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Logs(string dir)
    {
        string logs = Path.Combine(dir, "_sweep", "logs");
        return Directory.Exists(logs) ? string.Join("\n", Directory.GetFiles(logs).Select(f => $"{f}:\n{File.ReadAllText(f)}")) : "(no logs)";
    }
}
