using Replay.Engines.Paging;

namespace Replay.Kernel;

/// <summary>Frame allocation with reclaim, shared-frame reference counts and new table pages.</summary>
public sealed partial class GuestKernel
{
    /// <summary>A 4 KiB frame; when none is free, reclaims a user page (kswapd-like) or fails naming --memory.</summary>
    private ulong AllocFrame(int vcpu)
    {
        ulong frame;
        while (!Frames.TryAlloc(out frame))
        {
            Reclaim(vcpu);
        }

        return frame;
    }

    private ulong AllocRootFrame(int vcpu, bool user)
    {
        ulong frame;
        while (!Frames.TryAllocRoot(user, out frame))
        {
            Reclaim(vcpu);
        }

        return frame;
    }

    /// <summary>A frame for a page table, zeroed with <c>ptwrite</c>s wherever it still holds old table data (<c>clear_page</c>).</summary>
    private ulong AllocTable(int vcpu)
    {
        ulong t = AllocFrame(vcpu);
        if (_mem.Find(t) is { } words)
        {
            for (int i = NextUsed(words, 0, Pte.EntriesPerTable); i < Pte.EntriesPerTable; i = NextUsed(words, i + 1, Pte.EntriesPerTable))
            {
                Put(vcpu, (t << Pte.PageShift) | ((ulong)i << Pte.EntryShift), 0);
            }
        }

        return t;
    }

    /// <summary>One more leaf maps <paramref name="frame"/> (fork); the zero pages are not counted (Linux's special leaves).</summary>
    private void AddRef(ulong frame, bool huge)
    {
        if (!IsZeroPage(frame, huge ? 2 : 1))
        {
            _extraRefs[frame] = _extraRefs.GetValueOrDefault(frame) + 1;
        }
    }

    /// <summary>One leaf fewer maps <paramref name="frame"/>; the last one frees it, unless the page cache keeps it or it is a zero page.</summary>
    private void Release(ulong frame, bool huge)
    {
        if (_cacheFrames.Contains(frame) || IsZeroPage(frame, huge ? 2 : 1))
        {
            return;
        }

        if (_extraRefs.TryGetValue(frame, out int extra))
        {
            if (extra == 1)
            {
                _extraRefs.Remove(frame);
            }
            else
            {
                _extraRefs[frame] = extra - 1;
            }

            return;
        }

        if (huge)
        {
            Frames.FreeHuge(frame);
        }
        else
        {
            Frames.Free(frame);
        }
    }

    /// <summary>Remembers a private 4 KiB page as a reclaim candidate (FIFO, like an inactive list).</summary>
    private void Track(Process p, ulong va)
    {
        _lru.Enqueue((p, va & ~Pte.PageOffsetMask));
        if (_lru.Count > (2 * Frames.InUse) + 4096)
        {
            int n = _lru.Count;
            for (int i = 0; i < n; i++)
            {
                var item = _lru.Dequeue();
                if (item.P.Alive && FrameOf(item.P, new Gva(item.Va)) is not null)
                {
                    _lru.Enqueue(item);
                }
            }
        }
    }

    /// <summary>
    /// Direct reclaim: unmaps the oldest private, unshared 4 KiB user page of any live process (leaf cleared,
    /// then invalidated on every vCPU of its mm) and frees its frame. Its next touch demand-faults again.
    /// </summary>
    private void Reclaim(int vcpu)
    {
        while (_lru.TryDequeue(out var item))
        {
            var (q, va) = item;
            if (!q.Alive)
            {
                continue;
            }

            ulong pa = FindEntry(q.Root, va, out int level, out ulong e);
            ulong frame = (e & Pte.AddrMask) >> Pte.PageShift;
            if (level != 1 || (e & Pte.Present) == 0 || _extraRefs.ContainsKey(frame) || IsZeroPage(frame, level))
            {
                continue;
            }

            EnterKernel(vcpu, _cpus[vcpu]);
            Put(vcpu, pa, 0);
            FlushRange(q, va, 1);
            Frames.Free(frame);
            Reclaims++;
            return;
        }

        throw new InvalidOperationException(
            $"guest memory exhausted: {Options.MemoryBytes >> 20} MiB (--memory) cannot hold this workload's page tables and shared pages, and no private page is left to reclaim; raise --memory.");
    }
}
