using Replay.Engines.Paging;

namespace Replay.Engines.Tlb;

/// <summary>
/// Paging-structure caches (Intel SDM Vol. 3 §4.10.3): per upper level, a small fully associative LRU cache
/// of non-leaf entries, keyed by the va bits that select the entry and tagged by PCID. A hit lets a walk start
/// below the cached level. Level numbering: 2 = PDE cache, 3 = PDPTE, 4 = PML4E, 5 = PML5E.
/// </summary>
public sealed class PagingStructureCache
{
    private readonly Level?[] _levels = new Level?[6];

    public PagingStructureCache(TlbGeometry g)
    {
        _levels[2] = g.PscPd > 0 ? new Level(g.PscPd) : null;
        _levels[3] = g.PscPdpt > 0 ? new Level(g.PscPdpt) : null;
        _levels[4] = g.PscPml4 > 0 ? new Level(g.PscPml4) : null;
        _levels[5] = g.PscPml5 > 0 ? new Level(g.PscPml5) : null;
    }

    /// <summary>True when the walker for <paramref name="levels"/>-level paging has any cache to consult.</summary>
    public bool Any => _levels[2] is not null || _levels[3] is not null || _levels[4] is not null || _levels[5] is not null;

    /// <summary>
    /// Finds the deepest cached entry for <paramref name="va"/>: returns the level of the cached entry (2..5)
    /// and the table address it points to plus the permissions accumulated above it; 0 on a miss.
    /// </summary>
    public int Lookup(ulong va, ushort pcid, int topLevel, out ulong table, out ulong accumulatedPte)
    {
        for (int level = 2; level <= topLevel; level++)
        {
            var c = _levels[level];
            if (c is not null && c.Find(Key(va, level, pcid), out table, out accumulatedPte))
            {
                return level;
            }
        }

        table = 0;
        accumulatedPte = 0;
        return 0;
    }

    /// <summary>Caches the level-<paramref name="level"/> entry used for <paramref name="va"/>.</summary>
    public void Insert(ulong va, int level, ushort pcid, ulong table, ulong accumulatedPte) =>
        _levels[level]?.Insert(Key(va, level, pcid), table, accumulatedPte);

    /// <summary>Drops the entries that would serve <paramref name="va"/> in <paramref name="pcid"/> (what a page fault does).</summary>
    public void InvalidateVa(ulong va, ushort pcid)
    {
        for (int level = 2; level < _levels.Length; level++)
        {
            _levels[level]?.Remove(Key(va, level, pcid));
        }
    }

    /// <summary>Drops every entry tagged with <paramref name="pcid"/>.</summary>
    public void FlushPcid(ushort pcid)
    {
        foreach (var l in _levels)
        {
            l?.FlushPcid(pcid);
        }
    }

    public void FlushAll()
    {
        foreach (var l in _levels)
        {
            l?.FlushAll();
        }
    }

    private static ulong Key(ulong va, int level, ushort pcid) =>
        (((va & Pte.VaMask) >> Pte.Shift(level)) << 12) | pcid;

    private sealed class Level(int entries)
    {
        private const ulong Invalid = ulong.MaxValue;
        private readonly ulong[] _keys = Enumerable.Repeat(Invalid, entries).ToArray();
        private readonly ulong[] _tables = new ulong[entries];
        private readonly ulong[] _acc = new ulong[entries];
        private readonly long[] _stamps = new long[entries];
        private long _clock;

        // True while no key is held since the last FlushAll (or ever): a lookup then misses without a search. Without
        // PCID every CR3 load flushes every level, so most walks after one find the levels empty.
        private bool _empty = true;

        public bool Find(ulong key, out ulong table, out ulong acc)
        {
            if (_empty)
            {
                table = 0;
                acc = 0;
                return false;
            }

            // A key is held at most once (Insert reuses its slot), so the first match is the match: a vectorized search.
            int i = _keys.AsSpan().IndexOf(key);
            if (i >= 0)
            {
                _stamps[i] = ++_clock;
                table = _tables[i];
                acc = _acc[i];
                return true;
            }

            table = 0;
            acc = 0;
            return false;
        }

        public void Insert(ulong key, ulong table, ulong acc)
        {
            int victim = 0;
            for (int i = 0; i < _keys.Length; i++)
            {
                if (_keys[i] == key || _keys[i] == Invalid)
                {
                    victim = i;
                    break;
                }

                if (_stamps[i] < _stamps[victim])
                {
                    victim = i;
                }
            }

            _empty = false;
            _keys[victim] = key;
            _tables[victim] = table;
            _acc[victim] = acc;
            _stamps[victim] = ++_clock;
        }

        public void Remove(ulong key)
        {
            if (_empty)
            {
                return;
            }

            int i = Array.IndexOf(_keys, key);
            if (i >= 0)
            {
                _keys[i] = Invalid;
            }
        }

        public void FlushPcid(ushort pcid)
        {
            if (_empty)
            {
                return;
            }

            for (int i = 0; i < _keys.Length; i++)
            {
                if (_keys[i] != Invalid && (_keys[i] & 0xFFF) == pcid)
                {
                    _keys[i] = Invalid;
                }
            }
        }

        public void FlushAll()
        {
            if (!_empty)
            {
                Array.Fill(_keys, Invalid);
                _empty = true;
            }
        }
    }
}
