using System.Text.Json;

namespace Replay.Sweep;

/// <summary>The outcome of one cell, kept as <c>_cell.json</c> in the cell's folder (readers of the dataset skip <c>_</c> files).</summary>
internal sealed record CellRecord(
    string Status,
    int ExitCode,
    string? Error,
    double WallSeconds,
    string InputsSha256,
    string TraceSha256,
    string Host,
    DateTime FinishedUtc)
{
    public const string FileName = "_cell.json";
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Pending = "pending";

    public static CellRecord? Read(string cellDir)
    {
        string path = Path.Combine(cellDir, FileName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<CellRecord>(File.ReadAllText(path), SweepPlan.Json) : null;
        }
        catch (JsonException)
        {
            return null; // a record that does not parse is no record: the cell runs again
        }
    }

    public Task WriteAsync(string cellDir, CancellationToken ct) =>
        AtomicFile.WriteAsync(Path.Combine(cellDir, FileName), JsonSerializer.Serialize(this, SweepPlan.Json), ct);

    /// <summary>A cell is finished when its record says done for these very inputs and its summary is there.</summary>
    public static bool IsDone(SweepPlan plan, SweepCell cell) =>
        Read(plan.CellDir(cell)) is { Status: Done } r && r.InputsSha256 == cell.InputsSha256
            && File.Exists(Path.Combine(plan.CellDir(cell), Analysis.Reports.ReportWriter.SummaryFile));
}
