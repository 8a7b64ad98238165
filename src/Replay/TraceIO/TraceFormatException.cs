namespace Replay.TraceIO;

/// <summary>
/// A trace that cannot be replayed: missing, not Parquet, truncated, or holding a value SPEC §1 forbids.
/// The message is one sentence that names the file and, when the problem is in the data, the 0-based
/// trace row and the column.
/// </summary>
public sealed class TraceFormatException : Exception
{
    public TraceFormatException()
    {
    }

    public TraceFormatException(string message)
        : base(message)
    {
    }

    public TraceFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal TraceFormatException(string path, long? row, string? column, string problem, Exception? inner = null)
        : base(Describe(path, row, column, problem), inner)
    {
        TracePath = path;
        Row = row;
        Column = column;
    }

    /// <summary>The trace file the problem is in.</summary>
    public string? TracePath { get; }

    /// <summary>The 0-based trace row, when the problem is in one row.</summary>
    public long? Row { get; }

    /// <summary>The column, when the problem is in one column.</summary>
    public string? Column { get; }

    private static string Describe(string path, long? row, string? column, string problem)
    {
        string where = (row, column) switch
        {
            (long r, string c) => $"row {r}, column '{c}': ",
            (long r, null) => $"row {r}: ",
            (null, string c) => $"column '{c}': ",
            _ => "",
        };
        return $"{path}: {where}{problem}.";
    }
}
