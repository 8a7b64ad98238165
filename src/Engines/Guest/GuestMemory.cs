using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Replay.Engines.Paging;

namespace Replay.Engines.Guest;

/// <summary>
/// Sparse guest-physical memory in 4 KiB frames of 64-bit words; unwritten words read as 0 (SPEC §2).
/// Only page-table data lives here: data stores never change what the walker reads.
/// </summary>
public sealed class GuestMemory
{
    private const int CacheSize = 256; // direct-mapped frame cache in front of the dictionary (a walk touches 4-5 frames)
    private readonly Dictionary<ulong, ulong[]> _frames = new();
    private readonly ulong[] _cacheFrame = Enumerable.Repeat(ulong.MaxValue, CacheSize).ToArray();
    private readonly ulong[]?[] _cacheWords = new ulong[CacheSize][];

    /// <summary>Number of frames that have ever been written.</summary>
    public int FrameCount => _frames.Count;

    /// <summary>Reads the aligned 8-byte word containing <paramref name="pa"/>.</summary>
    public ulong ReadWord(ulong pa)
    {
        var words = Find(pa >> Pte.PageShift);

        // Every frame holds EntriesPerTable words and the index is masked to them: no bounds check needed.
        return words is null ? 0 : Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(words), (nint)((pa >> Pte.EntryShift) & Pte.IndexMask));
    }

    /// <summary>Writes the aligned 8-byte word containing <paramref name="pa"/>.</summary>
    public void WriteWord(ulong pa, ulong value)
    {
        var words = FindOrAdd(pa >> Pte.PageShift);
        words[(pa >> Pte.EntryShift) & Pte.IndexMask] = value;
    }

    /// <summary>
    /// Stores the low <paramref name="width"/> bytes of <paramref name="value"/> at <paramref name="pa"/>,
    /// little-endian, within the containing aligned word (a store that would cross the word is clipped to it).
    /// Returns the word before and after the store.
    /// </summary>
    public (ulong Old, ulong New) Store(ulong pa, ulong value, int width)
    {
        ulong old = ReadWord(pa);
        int shift = (int)(pa & 7) * 8;
        ulong mask = (width >= 8 ? ulong.MaxValue : (1UL << (width * 8)) - 1) << shift; // bytes past the word fall off
        ulong updated = (old & ~mask) | ((value << shift) & mask);
        WriteWord(pa, updated);
        return (old, updated);
    }

    /// <summary>Sets <paramref name="bits"/> in the word at <paramref name="pa"/> (A/D updates).</summary>
    public void SetBits(ulong pa, ulong bits)
    {
        var words = FindOrAdd(pa >> Pte.PageShift);
        words[(pa >> Pte.EntryShift) & Pte.IndexMask] |= bits;
    }

    /// <summary>The 512 words of a frame, or null if it was never written (reads as zeros). Do not modify.</summary>
    public ulong[]? Frame(ulong frameNumber) => Find(frameNumber);

    private ulong[]? Find(ulong frame)
    {
        // The slot is masked to the cache's size, so the two cache arrays are read without bounds checks.
        nint slot = (nint)(frame & (CacheSize - 1));
        if (Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_cacheFrame), slot) == frame)
        {
            return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_cacheWords), slot);
        }

        if (_frames.TryGetValue(frame, out var words))
        {
            _cacheFrame[(int)slot] = frame;
            _cacheWords[(int)slot] = words;
            return words;
        }

        return null;
    }

    private ulong[] FindOrAdd(ulong frame)
    {
        var words = Find(frame);
        if (words is not null)
        {
            return words;
        }

        words = new ulong[Pte.EntriesPerTable];
        _frames.Add(frame, words);
        int slot = (int)(frame & (CacheSize - 1));
        _cacheFrame[slot] = frame;
        _cacheWords[slot] = words;
        return words;
    }
}
