namespace Replay.Import;

/// <summary>What one imported record asks of the guest (a lackey or drmemtrace record kind; not the engines' <c>Paging.AccessKind</c>, which has no read-modify-write).</summary>
public enum RecordKind : byte
{
    /// <summary>An instruction fetch (lackey <c>I</c>, drmemtrace instruction records).</summary>
    Fetch,

    /// <summary>A data load (lackey <c>L</c>, drmemtrace READ).</summary>
    Load,

    /// <summary>A data store (lackey <c>S</c>, drmemtrace WRITE).</summary>
    Store,

    /// <summary>A read-modify-write (lackey <c>M</c>): a load, then a store, of the same bytes.</summary>
    Modify,
}

/// <summary>One memory access read from a foreign trace: <paramref name="Size"/> bytes from <paramref name="Address"/> (at least 1).</summary>
public readonly record struct AccessRecord(RecordKind Kind, ulong Address, int Size);
