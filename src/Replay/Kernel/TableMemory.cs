using Replay.Engines.Paging;

namespace Replay.Kernel;

/// <summary>
/// The kernel's own view of guest page-table memory: the 512 words of every frame ever written by a
/// <c>ptwrite</c>/<c>ptinit</c>, indexed by frame number through a two-level array (no hashing on the hot path).
/// The walker's A/D updates are not mirrored: they never change a translation.
/// </summary>
internal sealed class TableMemory(ulong frames)
{
    private const int ChunkShift = 12;
    private readonly ulong[]?[]?[] _chunks = new ulong[]?[(int)(frames >> ChunkShift) + 1][];

    /// <summary>The frame's words, or null if it was never written (all zero).</summary>
    public ulong[]? Find(ulong frame) => _chunks[frame >> ChunkShift]?[frame & ((1 << ChunkShift) - 1)];

    public ulong[] Get(ulong frame)
    {
        var chunk = _chunks[frame >> ChunkShift] ??= new ulong[]?[1 << ChunkShift];
        return chunk[frame & ((1 << ChunkShift) - 1)] ??= new ulong[Pte.EntriesPerTable];
    }

    public ulong Read(ulong pa) => Find(pa >> Pte.PageShift) is { } w ? w[(pa >> Pte.EntryShift) & Pte.IndexMask] : 0;
}
