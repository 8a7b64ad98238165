namespace Replay.TraceIO;

/// <summary>
/// The first bad value found in a decoded row group: <paramref name="Index"/> is relative to the group.
/// Errors are collected rather than thrown so the reader can report the earliest row whatever column
/// or check found it first, which keeps messages identical from run to run despite parallel decoding.
/// </summary>
internal readonly record struct RowError(int Index, TraceColumn Column, string Problem)
{
    /// <summary>The earlier of two errors (ties go to the column written first).</summary>
    public static RowError? First(RowError? a, RowError? b) => (a, b) switch
    {
        (null, _) => b,
        (_, null) => a,
        ({ } x, { } y) => (x.Index, x.Column).CompareTo((y.Index, y.Column)) <= 0 ? x : y,
    };

    public TraceFormatException ToException(string path, long firstRow) =>
        new(path, firstRow + Index, Column.Name(), Problem);
}
