using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Replay.Sweep;

/// <summary>What <c>--slurm</c> submits with.</summary>
internal sealed record SlurmOptions(int CellsPerTask, int MaxRunning, IReadOnlyList<string> SbatchOptions, bool Wait, TimeSpan Poll);

/// <summary>
/// Submits a planned grid to Slurm as ONE job array, each task running <c>replay sweep --task I --grid
/// _sweep/grid.json</c> on its chunk of the cells still to do (into the shared dataset), plus a final job that depends
/// on the whole array (<c>--dependency=afterany</c>, so it also runs after failed or cancelled tasks) and runs
/// <c>replay sweep --finalize</c>: it checks every cell and writes the manifest. With <c>--wait</c> it polls
/// <c>squeue</c> (no accounting database is needed, unlike <c>sacct</c>) until the final job has ended.
/// </summary>
internal static class SlurmSweep
{
    public static async Task<int> SubmitAsync(SweepPlan plan, SlurmOptions o, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var todo = plan.Cells.Where(c => !CellRecord.IsDone(plan, c)).Select(c => c.Index).ToList();
        plan.Tasks = [.. todo.Chunk(o.CellsPerTask)];
        await plan.SaveAsync(ct).ConfigureAwait(false);
        await SweepManifest.Build(plan).WriteAsync(plan.OutDir, ct).ConfigureAwait(false);
        if (todo.Count == 0)
        {
            var manifest = SweepManifest.Build(plan);
            manifest.PrintSummary(stdout);
            await stdout.WriteLineAsync("sweep: every cell is already done for the same inputs; nothing submitted").ConfigureAwait(false);
            return manifest.Complete ? Cli.CliApp.Success : Cli.CliApp.Failure;
        }

        string dir = Path.Combine(plan.OutDir, SweepPlan.SweepFolder);
        string logs = Path.Combine(dir, "logs");
        Directory.CreateDirectory(logs);
        string launcher = string.Join(' ', ReplayLauncher.Command().Select(ReplayLauncher.Quote));
        string grid = ReplayLauncher.Quote(plan.GridPath);
        string task = await Script(dir, "task.sh", "an array task: the cells of task $SLURM_ARRAY_TASK_ID",
            $"exec {launcher} sweep --task \"$SLURM_ARRAY_TASK_ID\" --grid {grid}", ct).ConfigureAwait(false);
        string final = await Script(dir, "finalize.sh", "the final step: checks every cell, writes manifest.json",
            $"exec {launcher} sweep --finalize --grid {grid}", ct).ConfigureAwait(false);

        string range = string.Create(CultureInfo.InvariantCulture, $"0-{plan.Tasks.Count - 1}{(o.MaxRunning > 0 ? $"%{o.MaxRunning}" : "")}");
        string arrayId = await SbatchAsync([$"--array={range}", "--job-name=replay-sweep", $"--output={Path.Combine(logs, "task-%A_%a.out")}", .. o.SbatchOptions, task], ct).ConfigureAwait(false);
        string finalId = await SbatchAsync([$"--dependency=afterany:{arrayId}", "--kill-on-invalid-dep=no", "--job-name=replay-sweep-final",
            $"--output={Path.Combine(logs, "final-%j.out")}", .. o.SbatchOptions, final], ct).ConfigureAwait(false);
        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"sweep: submitted job array {arrayId} ({plan.Tasks.Count} tasks, {todo.Count} cells) and final job {finalId}; logs in {logs}")).ConfigureAwait(false);
        if (!o.Wait)
        {
            await stdout.WriteLineAsync($"sweep: when job {finalId} has ended, {Path.Combine(plan.OutDir, SweepManifest.FileName)} lists every cell's status").ConfigureAwait(false);
            return Cli.CliApp.Success;
        }

        var submitted = DateTime.UtcNow;
        var progress = SweepProgress.For(stderr, plan.Cells.Count, plan.Cells.Count - todo.Count);
        while (!await EndedAsync(finalId, ct).ConfigureAwait(false))
        {
            var now = plan.Cells.Select(c => CellRecord.Read(plan.CellDir(c))).Where((r, i) => r is not null && r.InputsSha256 == plan.Cells[i].InputsSha256).ToList();
            progress.Observed(now.Count, now.Count(r => r!.Status == CellRecord.Failed));
            await Task.Delay(o.Poll, ct).ConfigureAwait(false);
        }

        progress.Done();
        string manifestPath = Path.Combine(plan.OutDir, SweepManifest.FileName);
        var result = SweepManifest.Read(plan.OutDir);
        if (result.WrittenUtc < submitted)
        {
            throw new IOException($"the final job {finalId} ended without writing {manifestPath}; see {logs}");
        }

        result.PrintSummary(stdout);
        return result.Complete ? Cli.CliApp.Success : Cli.CliApp.Failure;
    }

    private static async Task<string> Script(string dir, string name, string what, string command, CancellationToken ct)
    {
        string path = Path.Combine(dir, name);
        var sb = new StringBuilder()
            .Append("#!/bin/bash\n")
            .Append("# replay sweep, ").Append(what).Append(" (written by replay sweep --slurm).\n")
            .Append(command).Append('\n');
        await AtomicFile.WriteAsync(path, sb.ToString(), ct).ConfigureAwait(false);
        return path;
    }

    /// <summary>Runs <c>sbatch --parsable ARGS</c>; returns the job id. A missing <c>sbatch</c> or a refused job is an error.</summary>
    private static async Task<string> SbatchAsync(IEnumerable<string> args, CancellationToken ct)
    {
        var (code, stdout, stderr) = await RunAsync("sbatch", ["--parsable", .. args], ct).ConfigureAwait(false);
        string id = stdout.Trim().Split(';')[0];
        return code == 0 && id.Length > 0 && id.All(char.IsAsciiDigit)
            ? id
            : throw new IOException($"sbatch refused the job (exit {code}): {stderr.Trim()}");
    }

    /// <summary>Whether job <paramref name="id"/> is no longer pending, running or completing (or Slurm has forgotten it).</summary>
    private static async Task<bool> EndedAsync(string id, CancellationToken ct)
    {
        var (code, stdout, _) = await RunAsync("squeue", ["-h", "--states=all", "-j", id, "-o", "%T"], ct).ConfigureAwait(false);
        string[] states = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return code != 0 || states.Length == 0 || states.All(s => s is not ("PENDING" or "RUNNING" or "COMPLETING" or "CONFIGURING" or "SUSPENDED" or "REQUEUED" or "RESIZING" or "SIGNALING" or "STAGE_OUT"));
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new IOException($"{file} did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"{file} cannot be run ({e.Message}): is Slurm installed? tools/slurm/start-single-node.sh starts a single-node cluster.", e);
        }

        using (p)
        {
            var o = p.StandardOutput.ReadToEndAsync(ct);
            var e = p.StandardError.ReadToEndAsync(ct);
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
            return (p.ExitCode, await o.ConfigureAwait(false), await e.ConfigureAwait(false));
        }
    }

    /// <summary><c>--task I</c>: runs task I's cells one after another (skipping any already done); exit 1 if one failed.</summary>
    public static async Task<int> RunTaskAsync(SweepPlan plan, int task, TextWriter stderr, CancellationToken ct)
    {
        if (task < 0 || task >= plan.Tasks.Count)
        {
            throw new SweepUsageException($"--task {task}: the grid {plan.GridPath} has tasks 0 to {plan.Tasks.Count - 1}.");
        }

        var cells = plan.Tasks[task].Select(i => plan.Cells[i]).ToList();
        var progress = new SweepProgress(stderr, cells.Count, 0, terminal: false);
        bool failed = false;
        foreach (var cell in cells)
        {
            if (CellRecord.IsDone(plan, cell))
            {
                continue;
            }

            var r = await CellRunner.RunAsync(plan, cell, ct).ConfigureAwait(false);
            failed |= r.Status == CellRecord.Failed;
            progress.CellFinished(cell.Folder, r);
        }

        return failed ? Cli.CliApp.Failure : Cli.CliApp.Success;
    }
}
