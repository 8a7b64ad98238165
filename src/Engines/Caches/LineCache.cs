namespace Replay.Engines.Caches;

/// <summary>
/// One cache level as a set-associative array of line tags, LRU within a set, filled on every miss (the line is
/// brought in on its way to the core, so a level never holds a line that was not asked for).
/// </summary>
internal sealed class LineCache
{
    private const ulong Empty = ulong.MaxValue;
    private readonly ulong[] _tags;
    private readonly long[] _stamps;
    private readonly int _ways;
    private readonly ulong _setMask;
    private readonly int _sets;
    private readonly bool _pow2;
    private long _clock;

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
        _stamps = new long[_tags.Length];
        Array.Fill(_tags, Empty);
    }

    /// <summary>Looks up line <paramref name="line"/> (an address divided by 64): true on a hit; a miss fills it.</summary>
    public bool Access(ulong line)
    {
        int first = (int)(_pow2 ? line & _setMask : line % (ulong)_sets) * _ways;
        int victim = first;
        long oldest = long.MaxValue;
        long now = ++_clock;
        for (int i = first; i < first + _ways; i++)
        {
            ulong tag = _tags[i];
            if (tag == line)
            {
                _stamps[i] = now;
                return true;
            }

            // Empty ways carry stamp 0, so they are taken before any line is evicted.
            if (_stamps[i] < oldest)
            {
                oldest = _stamps[i];
                victim = i;
            }
        }

        _tags[victim] = line;
        _stamps[victim] = now;
        return false;
    }
}
