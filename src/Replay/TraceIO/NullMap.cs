namespace Replay.TraceIO;

/// <summary>
/// Which rows of a decoded row group have no value in one of the per-op columns (va, pa, value):
/// none (default), the rows flagged in <see cref="Nulls"/>, or all rows when the file lacks the column.
/// </summary>
internal readonly record struct NullMap(bool Missing, bool[]? Nulls)
{
    public static NullMap MissingColumn => new(true, null);

    /// <summary>True when some row may lack a value, so the per-row check is needed.</summary>
    public bool Any => Missing || Nulls is not null;

    public bool IsNull(int row) => Missing || (Nulls is not null && Nulls[row]);
}
