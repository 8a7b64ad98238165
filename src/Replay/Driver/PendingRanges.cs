using Replay.Engines.Paging;

namespace Replay.Driver;

/// <summary>
/// One vCPU's pending ranges for <see cref="TraceChecker"/>'s TLB-coherence rule: va ranges a <c>ptwrite</c> narrowed
/// that the vCPU may still cache, each for one PCID or global. A range is the naturally aligned block an entry of some
/// level maps (4 KiB, 2 MiB, 1 GiB, 512 GiB or 256 TiB), so the ranges that can contain a va are found by one lookup
/// per level in use, not by a scan: an access costs O(levels), whatever the number pending. Ranges keep their
/// insertion order (a sequence number): an access takes the earliest one containing it, as a list scanned in order
/// would. Clearing by PCID (a flush or a flushing CR3 load) visits every range, as it must drop most of them.
/// </summary>
internal sealed class PendingRanges
{
    private const int Levels = 5;
    private readonly Dictionary<(int Level, ulong First), List<Range>> _blocks = [];
    private readonly int[] _perLevel = new int[Levels + 1];
    private long _next;

    /// <summary>Ranges pending.</summary>
    public int Count { get; private set; }

    /// <summary>Ranges looked at by <see cref="TakeFirst"/> and <see cref="RemoveContaining"/> since the start (what an access costs).</summary>
    public long Examined { get; private set; }

    /// <summary>Adds the block a level-<paramref name="level"/> entry maps at <paramref name="first"/> (aligned to its size).</summary>
    public void Add(ulong first, int level, bool global, ushort pcid)
    {
        var key = (level, first);
        if (!_blocks.TryGetValue(key, out var list))
        {
            list = new List<Range>(1);
            _blocks.Add(key, list);
        }

        list.Add(new Range(_next++, global, pcid));
        _perLevel[level]++;
        Count++;
    }

    /// <summary>Removes the earliest range containing <paramref name="va"/> that concerns <paramref name="pcid"/> (its own or global); false when none does.</summary>
    public bool TakeFirst(ulong va, ushort pcid)
    {
        List<Range>? bestList = null;
        int bestAt = -1;
        int bestLevel = 0;
        long bestSeq = long.MaxValue;
        for (int level = 1; level <= Levels; level++)
        {
            if (_perLevel[level] == 0 || !_blocks.TryGetValue((level, BlockOf(va, level)), out var list))
            {
                continue;
            }

            for (int k = 0; k < list.Count; k++)
            {
                Examined++;
                var r = list[k];
                if ((r.Global || r.Pcid == pcid) && r.Seq < bestSeq)
                {
                    (bestList, bestAt, bestLevel, bestSeq) = (list, k, level, r.Seq);
                    break; // a list is in insertion order: its first match is its earliest
                }
            }
        }

        if (bestList is null)
        {
            return false;
        }

        bestList.RemoveAt(bestAt);
        Dropped(bestList, bestLevel, BlockOf(va, bestLevel), 1);
        return true;
    }

    /// <summary>Removes every range containing <paramref name="va"/> that concerns <paramref name="pcid"/> (an INVLPG).</summary>
    public void RemoveContaining(ulong va, ushort pcid)
    {
        for (int level = 1; level <= Levels && Count > 0; level++)
        {
            ulong first = BlockOf(va, level);
            if (_perLevel[level] == 0 || !_blocks.TryGetValue((level, first), out var list))
            {
                continue;
            }

            Examined += list.Count;
            int removed = list.RemoveAll(r => r.Global || r.Pcid == pcid);
            Dropped(list, level, first, removed);
        }
    }

    /// <summary>Removes every non-global range of <paramref name="pcid"/>, or with <paramref name="everything"/> every range.</summary>
    public void RemoveNonGlobal(ushort pcid, bool everything)
    {
        if (Count == 0)
        {
            return;
        }

        if (everything)
        {
            _blocks.Clear();
            Array.Clear(_perLevel);
            Count = 0;
            return;
        }

        List<(int, ulong)>? empty = null;
        foreach (var ((level, first), list) in _blocks)
        {
            int removed = list.RemoveAll(r => !r.Global && r.Pcid == pcid);
            _perLevel[level] -= removed;
            Count -= removed;
            if (list.Count == 0)
            {
                (empty ??= []).Add((level, first));
            }
        }

        foreach (var key in empty ?? [])
        {
            _blocks.Remove(key);
        }
    }

    private static ulong BlockOf(ulong va, int level) => va & ~((1UL << Pte.Shift(level)) - 1);

    private void Dropped(List<Range> list, int level, ulong first, int removed)
    {
        _perLevel[level] -= removed;
        Count -= removed;
        if (list.Count == 0)
        {
            _blocks.Remove((level, first));
        }
    }

    private readonly record struct Range(long Seq, bool Global, ushort Pcid);
}
