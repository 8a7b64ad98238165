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
/// <para>
/// Tags stay in their ways; each set's recency order is one 64-bit word of 4-bit way numbers, most recent first
/// (unused nibbles of a set of fewer than 16 ways hold 15, which no way number equals). A hit moves its way to the
/// front of the word and a miss fills the way at the back (the least recent, or an empty way while the set is not yet
/// full: empty ways start at the back), both with a few shifts and masks. The order word sits just before its set's
/// tags in one array, so a lookup reads the host lines of its own set and no other. Sets of more than 16 ways keep
/// the tags themselves in recency order and shift them.
/// </para>
/// <para>
/// Two things stand for lines the trace does not list (<see cref="PressureSource"/>). A <em>dead</em> line is one
/// brought in and never asked for again: <see cref="AddDead"/> counts it against its set, and the count is applied
/// when the set is next looked up (dead lines are alike, so k of them at once are the same as one by one: the k least
/// recent ways become empty and most recent). A <em>reserved</em> way holds a line some resident working set keeps
/// there (<see cref="Reserve"/>): the set offers the lines of the trace that many ways fewer.
/// </para>
/// </remarks>
internal sealed class LineCache
{
    private const ulong Empty = ulong.MaxValue;
    private const ulong Nibbles = 0x1111_1111_1111_1111UL;
    private readonly ulong[] _words;  // per set: its order word (sets of at most 16 ways), then its tags
    private readonly int _stride;    // words per set in _words
    private readonly ushort[] _usable; // ways per set the trace's lines may use (fewer than the ways where reserved)
    private readonly ushort[] _dead; // dead lines brought into each set since it was last looked up, at most its usable ways
    private readonly int _ways;
    private readonly ulong _setMask;
    private readonly int _sets;
    private readonly bool _pow2;

    public LineCache(CacheLevelGeometry g)
    {
        if (g.Ways <= 0 || g.Ways > ushort.MaxValue || g.Lines <= 0 || g.Lines % g.Ways != 0)
        {
            throw new ArgumentException($"A cache of {g.Kib} KiB needs a positive number of ways dividing its {g.Lines} lines, not {g.Ways}.", nameof(g));
        }

        _ways = g.Ways;
        _sets = g.Sets;
        _pow2 = (_sets & (_sets - 1)) == 0;
        _setMask = (ulong)_sets - 1;
        _stride = _ways <= 16 ? _ways + 1 : _ways;
        _words = new ulong[_sets * _stride];
        Array.Fill(_words, Empty);
        _dead = new ushort[_sets];
        _usable = new ushort[_sets];
        Array.Fill(_usable, (ushort)_ways);
        if (_ways <= 16)
        {
            ulong initial = ulong.MaxValue;
            for (int w = _ways - 1; w >= 0; w--)
            {
                initial = (initial << 4) | (uint)w;
            }

            for (int set = 0; set < _sets; set++)
            {
                _words[set * _stride] = initial;
            }
        }
    }

    public int Sets => _sets;

    /// <summary>
    /// Reserves ways for <paramref name="lines"/> consecutive lines that stay resident: set s loses one way per line
    /// of them that maps to it (lines / sets, one more for the first lines % sets sets), keeping at least one. Call
    /// before the first lookup.
    /// </summary>
    public void Reserve(long lines)
    {
        for (int s = 0; s < _sets; s++)
        {
            long mine = (lines / _sets) + (s < lines % _sets ? 1 : 0);
            _usable[s] = (ushort)Math.Max(1, _ways - mine);
        }
    }

    /// <summary>A line that is brought into the set of <paramref name="line"/> and never asked for again.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddDead(ulong line)
    {
        int set = SetOf(line);
        ref ushort dead = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_dead), set);
        if (dead < Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_usable), set))
        {
            dead++;
        }
    }

    /// <summary>Looks up line <paramref name="line"/> (an address divided by 64): true on a hit; a miss fills it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Access(ulong line)
    {
        int set = SetOf(line);
        if (Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_dead), set) != 0)
        {
            ApplyDead(set);
        }

        if (_ways > 16)
        {
            return AccessShifted(set, line);
        }

        // The common case inline: the line is already the most recent of its set, and nothing moves.
        ref ulong order = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_words), set * _stride);
        return Unsafe.Add(ref order, 1 + (int)(order & 0xF)) == line || AccessOrdered(set, line);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int SetOf(ulong line) => (int)(_pow2 ? line & _setMask : line % (ulong)_sets);

    private bool AccessOrdered(int set, ulong line)
    {
        ref ulong order = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_words), set * _stride);
        ref ulong tags = ref Unsafe.Add(ref order, 1);
        ulong ord = order;
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
            rank = _usable[set] - 1;
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
        Span<ulong> ways = _words.AsSpan(set * _stride, _usable[set]);
        if (ways[0] == line)
        {
            return true;
        }

        int at = ways.IndexOf(line);
        bool hit = at > 0;
        int moved = hit ? at : ways.Length - 1;
        ways[..moved].CopyTo(ways[1..]);
        ways[0] = line;
        return hit;
    }

    /// <summary>Brings the set's pending dead lines in: its k least recent usable ways become empty and most recent.</summary>
    private void ApplyDead(int set)
    {
        int k = _dead[set];
        _dead[set] = 0;
        int usable = _usable[set];
        if (_ways > 16)
        {
            Span<ulong> ways = _words.AsSpan(set * _stride, usable);
            ways[..(usable - k)].CopyTo(ways[k..]);
            ways[..k].Fill(Empty);
            return;
        }

        ref ulong order = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_words), set * _stride);
        ref ulong tags = ref Unsafe.Add(ref order, 1);
        ulong ord = order;
        int keep = usable - k;                                         // ranks [0, keep) move back by k
        ulong keptMask = (1UL << (keep * 4)) - 1;
        ulong usableMask = usable == 16 ? ulong.MaxValue : (1UL << (usable * 4)) - 1;
        ulong back = (ord & usableMask) >> (keep * 4);                 // ranks [keep, usable): the k least recent
        for (int i = 0; i < k; i++)
        {
            Unsafe.Add(ref tags, (int)((back >> (i * 4)) & 0xF)) = Empty;
        }

        order = (ord & ~usableMask) | ((ord & keptMask) << (k * 4)) | back;
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
