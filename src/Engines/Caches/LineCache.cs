using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Replay.Engines.Caches;

/// <summary>
/// One cache level as a set-associative array of line tags, LRU within a set, filled on every miss (the line is
/// brought in on its way to the core, so a level never holds a line that was not asked for).
/// </summary>
/// <remarks>
/// Tags stay in their ways; each set's recency order is one 64-bit word of 4-bit way numbers, most recent first
/// (unused nibbles of a set of fewer than 16 ways hold 15, which no way number equals). A hit moves its way to the
/// front of the word and a miss fills the way at the back (the least recent, or an empty way while the set is not yet
/// full: empty ways start at the back), both with a few shifts and masks. Sets of more than 16 ways keep the tags
/// themselves in recency order and shift them.
/// </remarks>
internal sealed class LineCache
{
    private const ulong Empty = ulong.MaxValue;
    private const ulong Nibbles = 0x1111_1111_1111_1111UL;
    private readonly ulong[] _tags;
    private readonly ulong[] _order;
    private readonly int _ways;
    private readonly ulong _setMask;
    private readonly int _sets;
    private readonly bool _pow2;

    public LineCache(CacheLevelGeometry g)
    {
        if (g.Ways <= 0 || g.Lines <= 0 || g.Lines % g.Ways != 0)
        {
            throw new ArgumentException($"A cache of {g.Kib} KiB needs a positive number of ways dividing its {g.Lines} lines, not {g.Ways}.", nameof(g));
        }

        _ways = g.Ways;
        _sets = g.Sets;
        _pow2 = (_sets & (_sets - 1)) == 0;
        _setMask = (ulong)_sets - 1;
        _tags = new ulong[_sets * _ways];
        Array.Fill(_tags, Empty);
        if (_ways <= 16)
        {
            ulong initial = ulong.MaxValue;
            for (int w = _ways - 1; w >= 0; w--)
            {
                initial = (initial << 4) | (uint)w;
            }

            _order = new ulong[_sets];
            Array.Fill(_order, initial);
        }
        else
        {
            _order = [];
        }
    }

    /// <summary>Looks up line <paramref name="line"/> (an address divided by 64): true on a hit; a miss fills it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Access(ulong line)
    {
        int set = (int)(_pow2 ? line & _setMask : line % (ulong)_sets);
        return _ways <= 16 ? AccessOrdered(set, line) : AccessShifted(set, line);
    }

    private bool AccessOrdered(int set, ulong line)
    {
        ref ulong tags = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tags), set * _ways);
        ref ulong order = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_order), set);
        ulong ord = order;
        if (Unsafe.Add(ref tags, (int)(ord & 0xF)) == line)
        {
            return true; // already the most recent: nothing moves
        }

        int way = FindWay(ref tags, _ways, line);
        int rank;
        bool hit = way >= 0;
        if (hit)
        {
            // The rank of the way: the first nibble of the order word that equals it (the classic has-zero-nibble
            // test on the word XOR the way broadcast; its lowest flagged nibble is exact).
            ulong x = ord ^ (Nibbles * (uint)way);
            ulong zero = (x - Nibbles) & ~x & (Nibbles << 3);
            rank = BitOperations.TrailingZeroCount(zero) >> 2;
        }
        else
        {
            rank = _ways - 1;
            way = (int)((ord >> (rank * 4)) & 0xF);
            Unsafe.Add(ref tags, way) = line;
        }

        ulong below = (1UL << (rank * 4)) - 1;                       // ranks before it
        ulong through = rank == 15 ? ulong.MaxValue : (1UL << ((rank + 1) * 4)) - 1;
        order = (ord & ~through) | ((ord & below) << 4) | (uint)way;
        return hit;
    }

    private bool AccessShifted(int set, ulong line)
    {
        Span<ulong> ways = _tags.AsSpan(set * _ways, _ways);
        if (ways[0] == line)
        {
            return true;
        }

        int at = ways.IndexOf(line);
        bool hit = at > 0;
        int moved = hit ? at : _ways - 1;
        ways[..moved].CopyTo(ways[1..]);
        ways[0] = line;
        return hit;
    }

    /// <summary>The way holding <paramref name="line"/> among the <paramref name="ways"/> tags at <paramref name="tags"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FindWay(ref ulong tags, int ways, ulong line)
    {
        if (Vector256.IsHardwareAccelerated && (ways & 3) == 0)
        {
            var target = Vector256.Create(line);
            for (int i = 0; i < ways; i += 4)
            {
                uint bits = Vector256.Equals(Vector256.LoadUnsafe(ref tags, (nuint)i), target).ExtractMostSignificantBits();
                if (bits != 0)
                {
                    return i + BitOperations.TrailingZeroCount(bits);
                }
            }

            return -1;
        }

        for (int i = 0; i < ways; i++)
        {
            if (Unsafe.Add(ref tags, i) == line)
            {
                return i;
            }
        }

        return -1;
    }
}
