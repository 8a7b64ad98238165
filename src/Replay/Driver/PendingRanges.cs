namespace Replay.Driver;

/// <summary>
/// One vCPU's pending ranges for <see cref="TraceChecker"/>'s TLB-coherence rule: va ranges a <c>ptwrite</c> narrowed
/// that the vCPU may still cache, each for one PCID or global. A range is the naturally aligned block an entry of some
/// level maps (4 KiB, 2 MiB, 1 GiB, 512 GiB or 256 TiB), so the ranges that can contain a va are found by one lookup
/// per block size in use, not by a scan: an access costs O(sizes), whatever the number pending. Ranges keep their
/// insertion order (a sequence number): an access takes the earliest one containing it, as a list scanned in order
/// would. Clearing by PCID (a flush or a flushing CR3 load) visits every range, as it must drop most of them.
/// </summary>
internal sealed class PendingRanges
{
    private readonly Dictionary<(int Shift, ulong First), List<Range>> _blocks = [];
    private readonly int[] _perShift = new int[64];
    private long _next;

    /// <summary>Ranges pending.</summary>
    public int Count { get; private set; }

    /// <summary>Ranges looked at by <see cref="TakeFirst"/> and <see cref="RemoveContaining"/> since the start (what an access costs).</summary>
    public long Examined { get; private set; }

    /// <summary>Adds the block of 2^<paramref name="shift"/> bytes at <paramref name="first"/> (aligned to its size).</summary>
    public void Add(ulong first, int shift, bool global, ushort pcid)
    {
        var key = (shift, first);
        if (!_blocks.TryGetValue(key, out var list))
        {
            list = new List<Range>(1);
            _blocks.Add(key, list);
        }

        list.Add(new Range(_next++, global, pcid));
        _perShift[shift]++;
        Count++;
    }

    /// <summary>Removes the earliest range containing <paramref name="va"/> that concerns <paramref name="pcid"/> (its own or global); false when none does.</summary>
    public bool TakeFirst(ulong va, ushort pcid)
    {
        List<Range>? bestList = null;
        int bestAt = -1;
        int bestShift = 0;
        long bestSeq = long.MaxValue;
        for (int shift = 0; shift < _perShift.Length; shift++)
        {
            if (_perShift[shift] == 0 || !_blocks.TryGetValue((shift, BlockOf(va, shift)), out var list))
            {
                continue;
            }

            for (int k = 0; k < list.Count; k++)
            {
                Examined++;
                var r = list[k];
                if ((r.Global || r.Pcid == pcid) && r.Seq < bestSeq)
                {
                    (bestList, bestAt, bestShift, bestSeq) = (list, k, shift, r.Seq);
                    break; // a list is in insertion order: its first match is its earliest
                }
            }
        }

        if (bestList is null)
        {
            return false;
        }

        bestList.RemoveAt(bestAt);
        Dropped(bestList, bestShift, BlockOf(va, bestShift), 1);
        return true;
    }

    /// <summary>Removes every range containing <paramref name="va"/> that concerns <paramref name="pcid"/> (an INVLPG).</summary>
    public void RemoveContaining(ulong va, ushort pcid)
    {
        for (int shift = 0; shift < _perShift.Length && Count > 0; shift++)
        {
            ulong first = BlockOf(va, shift);
            if (_perShift[shift] == 0 || !_blocks.TryGetValue((shift, first), out var list))
            {
                continue;
            }

            Examined += list.Count;
            int removed = list.RemoveAll(r => r.Global || r.Pcid == pcid);
            Dropped(list, shift, first, removed);
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
            Array.Clear(_perShift);
            Count = 0;
            return;
        }

        List<(int, ulong)>? empty = null;
        foreach (var ((shift, first), list) in _blocks)
        {
            int removed = list.RemoveAll(r => !r.Global && r.Pcid == pcid);
            _perShift[shift] -= removed;
            Count -= removed;
            if (list.Count == 0)
            {
                (empty ??= []).Add((shift, first));
            }
        }

        foreach (var key in empty ?? [])
        {
            _blocks.Remove(key);
        }
    }

    private static ulong BlockOf(ulong va, int shift) => shift >= 64 ? 0 : va & ~((1UL << shift) - 1);

    private void Dropped(List<Range> list, int shift, ulong first, int removed)
    {
        _perShift[shift] -= removed;
        Count -= removed;
        if (list.Count == 0)
        {
            _blocks.Remove((shift, first));
        }
    }

    private readonly record struct Range(long Seq, bool Global, ushort Pcid);
}
