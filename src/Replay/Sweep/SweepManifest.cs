using System.Text.Json;

namespace Replay.Sweep;

/// <summary>One cell's line in <c>manifest.json</c>: what it ran, from which inputs, and how it ended.</summary>
internal sealed record ManifestCell(
    int Index,
    string Engine,
    string Profile,
    string Trace,
    string TracePath,
    string TraceSha256,
    string? Recipe,
    string Folder,
    string Status,
    string? Error,
    int? ExitCode,
    double? WallSeconds,
    string? Host,
    string InputsSha256);

/// <summary>
/// <c>manifest.json</c> in the sweep's output folder: the grid, every cell's status (<c>done</c>, <c>failed</c>,
/// <c>pending</c>) with its error, exit code and wall time, the provenance (replay version and commit, the command) and
/// the totals. Built from the cells' own records, so it can be rebuilt at any time (the Slurm job's final step does).
/// </summary>
internal sealed record SweepManifest(
    string ReplayVersion,
    string ReplayCommit,
    string Command,
    string Dataset,
    SweepSettings Settings,
    int Cells,
    int Done,
    int Failed,
    int Pending,
    DateTime WrittenUtc,
    IReadOnlyList<ManifestCell> Grid)
{
    public const string FileName = "manifest.json";

    public bool Complete => Done == Cells;

    public static SweepManifest Build(SweepPlan plan)
    {
        var cells = plan.Cells.Select(c =>
        {
            var r = CellRecord.Read(plan.CellDir(c));
            bool current = r is not null && r.InputsSha256 == c.InputsSha256;
            string status = !current ? CellRecord.Pending
                : r!.Status == CellRecord.Done && !CellRecord.IsDone(plan, c) ? CellRecord.Pending // its summary was deleted
                : r.Status;
            return new ManifestCell(c.Index, c.Engine, c.Profile, c.Trace, c.TracePath, c.TraceSha256, c.Recipe, c.Folder, status,
                current ? r!.Error : null, current ? r!.ExitCode : null, current ? r!.WallSeconds : null, current ? r!.Host : null, c.InputsSha256);
        }).ToList();
        return new SweepManifest(plan.Version, plan.Commit, plan.Command, Path.Combine(plan.OutDir, "**", Analysis.Reports.ReportWriter.SummaryFile), plan.Settings,
            cells.Count, cells.Count(c => c.Status == CellRecord.Done), cells.Count(c => c.Status == CellRecord.Failed),
            cells.Count(c => c.Status == CellRecord.Pending), DateTime.UtcNow, cells);
    }

    public Task WriteAsync(string outDir, CancellationToken ct) =>
        AtomicFile.WriteAsync(Path.Combine(outDir, FileName), JsonSerializer.Serialize(this, SweepPlan.Json), ct);

    public static SweepManifest Read(string outDir) =>
        JsonSerializer.Deserialize<SweepManifest>(File.ReadAllText(Path.Combine(outDir, FileName)), SweepPlan.Json)
            ?? throw new InvalidDataException($"{Path.Combine(outDir, FileName)}: empty manifest.");

    /// <summary>"24 cells: 23 done, 1 failed, 0 pending", and the first failures with their errors.</summary>
    public void PrintSummary(TextWriter w)
    {
        w.WriteLine($"sweep: {Cells} cells: {Done} done, {Failed} failed, {Pending} pending; manifest {FileName}, dataset {Dataset}");
        foreach (var c in Grid.Where(c => c.Status == CellRecord.Failed).Take(10))
        {
            w.WriteLine($"sweep: failed: {c.Folder}: {c.Error} (exit {c.ExitCode})");
        }
    }
}
