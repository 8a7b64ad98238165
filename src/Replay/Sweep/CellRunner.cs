using System.Diagnostics;
using System.Globalization;
using Replay.Analysis.Reports;
using Replay.Cli;

namespace Replay.Sweep;

/// <summary>
/// Runs one cell in this process through the very command line a user types, <c>replay run TRACE --engine E
/// --profile P --out CELL_DIR [--window N] [--verify] [--strict] [--skip N] [--warmup N] [--limit N]</c> (<see cref="CliApp.RunAsync(string[], TextWriter, TextWriter, CancellationToken)"/>),
/// so a cell's reports are byte for byte what <c>run</c> writes, its error is <c>run</c>'s one sentence and its exit
/// code <c>run</c>'s. In process rather than as a child <c>replay</c>: no start-up and JIT per cell (0.7 s installed,
/// more than a small cell's replay), and a failure is still confined to its cell because <c>run</c> turns every error
/// into an exit code. A Slurm task is its own process anyway.
/// </summary>
internal static class CellRunner
{
    public static string[] RunArgs(SweepPlan plan, SweepCell cell)
    {
        var args = new List<string>
        {
            "run", cell.TracePath, "--engine", cell.Engine, "--profile", cell.ProfileArg, "--out", plan.CellDir(cell),
            "--window", plan.Settings.Window.ToString(CultureInfo.InvariantCulture),
        };
        if (plan.Settings.Verify)
        {
            args.Add("--verify");
        }

        if (plan.Settings.Strict)
        {
            args.Add("--strict");
        }

        var s = plan.Settings;
        if (s.Skip != 0)
        {
            args.AddRange(["--skip", s.Skip.ToString(CultureInfo.InvariantCulture)]);
        }

        if (s.Warmup != 0)
        {
            args.AddRange(["--warmup", s.Warmup.ToString(CultureInfo.InvariantCulture)]);
        }

        if (s.Limit is { } limit)
        {
            args.AddRange(["--limit", limit.ToString(CultureInfo.InvariantCulture)]);
        }

        return [.. args];
    }

    /// <summary>Runs <paramref name="cell"/> (old report files in its folder removed first) and records the outcome.</summary>
    public static async Task<CellRecord> RunAsync(SweepPlan plan, SweepCell cell, CancellationToken ct)
    {
        string dir = plan.CellDir(cell);
        Directory.CreateDirectory(dir);

        // Whatever an earlier sweep left here was made from other inputs, or failed: it must not be read as this cell.
        foreach (string f in Directory.EnumerateFiles(dir))
        {
            File.Delete(f);
        }

        var sw = Stopwatch.StartNew();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = await CliApp.RunAsync(RunArgs(plan, cell), stdout, stderr, ct).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        string? error = code == CliApp.Success ? null : OneLine(stderr.ToString());
        string summary = Path.Combine(dir, ReportWriter.SummaryFile);
        string traceSha = cell.TraceSha256;
        if (code == CliApp.Success)
        {
            var meta = await ReportReader.ReadMetadataAsync(summary, ct).ConfigureAwait(false);
            traceSha = meta.GetValueOrDefault("replay.trace.sha256") ?? "";
            if (traceSha != cell.TraceSha256)
            {
                (code, error) = (CliApp.Failure, $"{cell.TracePath} changed since the sweep was planned (sha256 {traceSha}, planned {cell.TraceSha256}).");
                File.Delete(summary);
            }
        }

        var record = new CellRecord(code == CliApp.Success ? CellRecord.Done : CellRecord.Failed, code, error, Math.Round(sw.Elapsed.TotalSeconds, 3),
            cell.InputsSha256, traceSha, Environment.MachineName, DateTime.UtcNow);
        await record.WriteAsync(dir, ct).ConfigureAwait(false);
        return record;
    }

    private static string OneLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("Run 'replay --help'", StringComparison.Ordinal) && !l.StartsWith("replay: note:", StringComparison.Ordinal))
            .Select(l => l.StartsWith("replay: ", StringComparison.Ordinal) ? l["replay: ".Length..] : l);
        string joined = string.Join(" ", lines);
        return joined.Length > 0 ? joined : "failed without a message";
    }
}
