namespace Replay.Sweep;

/// <summary>
/// Runs a planned grid on this machine with <c>-j</c> workers: finished cells (recorded done for the same inputs) are
/// skipped, a failed cell is recorded with its error and the others carry on; the manifest is written before the
/// first cell and after the last.
/// </summary>
internal static class LocalSweep
{
    public static async Task<SweepManifest> RunAsync(SweepPlan plan, int jobs, TextWriter stderr, CancellationToken ct)
    {
        await plan.SaveAsync(ct).ConfigureAwait(false);
        var todo = plan.Cells.Where(c => !CellRecord.IsDone(plan, c)).ToList();
        await SweepManifest.Build(plan).WriteAsync(plan.OutDir, ct).ConfigureAwait(false);
        int skipped = plan.Cells.Count - todo.Count;
        if (skipped > 0)
        {
            await stderr.WriteLineAsync($"sweep: {skipped} of {plan.Cells.Count} cells already done for the same inputs; skipped").ConfigureAwait(false);
        }

        var progress = SweepProgress.For(stderr, plan.Cells.Count, skipped);
        await Parallel.ForEachAsync(todo, new ParallelOptions { MaxDegreeOfParallelism = jobs, CancellationToken = ct }, async (cell, token) =>
        {
            var record = await CellRunner.RunAsync(plan, cell, token).ConfigureAwait(false);
            progress.CellFinished(cell.Folder, record);
        }).ConfigureAwait(false);
        progress.Done();

        var manifest = SweepManifest.Build(plan);
        await manifest.WriteAsync(plan.OutDir, ct).ConfigureAwait(false);
        return manifest;
    }
}
