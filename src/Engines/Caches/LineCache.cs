namespace Replay.Engines.Caches;

/// <summary>
/// One cache level as a set-associative array of line tags, LRU within a set, filled on every miss (the line is
/// brought in on its way to the core, so a level never holds a line that was not asked for).
/// </summary>
internal sealed class LineCache
{
    private const ulong Empty = ulong.MaxValue;

    // Each set's ways are kept in recency order, most recent first, so LRU needs no stamps: a hit moves its line to
    // the front, a miss shifts the set down one way (dropping the last: the least recent, or an empty way while the
    // set is not yet full) and puts the new line first. The search is one vectorized IndexOf over the set.
    private readonly ulong[] _tags;
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
    }

    /// <summary>Looks up line <paramref name="line"/> (an address divided by 64): true on a hit; a miss fills it.</summary>
    public bool Access(ulong line)
    {
        int first = (int)(_pow2 ? line & _setMask : line % (ulong)_sets) * _ways;
        Span<ulong> set = _tags.AsSpan(first, _ways);
        if (set[0] == line)
        {
            return true;
        }

        int at = set.IndexOf(line);
        bool hit = at > 0;
        int moved = hit ? at : _ways - 1;
        set[..moved].CopyTo(set[1..]);
        set[0] = line;
        return hit;
    }
}
