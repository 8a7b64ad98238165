using Replay.Engines.Paging;

namespace Replay.Kernel;

/// <summary>
/// Guest-physical frame allocator over [<c>first</c>, <c>end</c>): a free stack of 4 KiB frames, a free stack of
/// 2 MiB blocks (512 aligned frames, for transparent huge pages) and a bump pointer. Page-table roots come back
/// to their own free lists and are only ever reused as roots of the same kind (a frame once loaded into CR3 stays a root, which
/// keeps the trace checker's view of levels right). <see cref="InUse"/> counts 4 KiB frames handed out.
/// </summary>
public sealed class FrameAllocator
{
    private const ulong HugeFrames = Pte.PagesPerLargePage;
    private readonly Stack<ulong> _free = new();
    private readonly Stack<ulong> _freeHuge = new();
    private readonly Stack<ulong>[] _freeRoots = [new(), new()]; // kernel-mode roots, KPTI user-mode roots
    private readonly HashSet<ulong> _reserved = [];
    private readonly ulong _end;
    private ulong _next;

    /// <summary>Frames [<paramref name="first"/>, <paramref name="end"/>) are the allocator's.</summary>
    public FrameAllocator(ulong first, ulong end)
    {
        _next = first;
        _end = end;
    }

    /// <summary>
    /// Takes <paramref name="frame"/> out of allocation for good: it is only ever used through
    /// <see cref="TakeReserved"/> (an imported address space's real root, e.g. a Windows <c>DirectoryTableBase</c>).
    /// Call before the first allocation; a frame below the allocator's range (never handed out anyway) is accepted.
    /// </summary>
    public void Reserve(ulong frame)
    {
        if (frame >= _end || (frame < _next && InUse > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(frame), $"frame 0x{frame:x} cannot be reserved (memory ends at frame 0x{_end:x}).");
        }

        _reserved.Add(frame);
    }

    /// <summary>True when <paramref name="frame"/> was reserved with <see cref="Reserve"/>.</summary>
    public bool IsReserved(ulong frame) => _reserved.Contains(frame);

    /// <summary>Hands out the reserved <paramref name="frame"/> (the caller keeps it from being taken twice).</summary>
    public void TakeReserved(ulong frame)
    {
        if (!_reserved.Contains(frame))
        {
            throw new ArgumentOutOfRangeException(nameof(frame), $"frame 0x{frame:x} is not reserved.");
        }

        InUse++;
    }

    /// <summary>4 KiB frames currently allocated (a huge block counts 512).</summary>
    public long InUse { get; private set; }

    /// <summary>Frames that could still be handed out without reclaim.</summary>
    public long Available => _free.Count + (_freeHuge.Count * (long)HugeFrames) + _freeRoots[0].Count + _freeRoots[1].Count + (long)(_end - _next);

    /// <summary>A 4 KiB frame: a freed one, else a new one, else one split off a free 2 MiB block; false when none is left.</summary>
    public bool TryAlloc(out ulong frame)
    {
        if (_free.TryPop(out frame) || TryBump(out frame))
        {
            InUse++;
            return true;
        }

        if (_freeHuge.TryPop(out ulong head))
        {
            for (ulong f = head + HugeFrames - 1; f > head; f--)
            {
                _free.Push(f);
            }

            frame = head;
            InUse++;
            return true;
        }

        return false;
    }

    /// <summary>A frame for a new root: a former root of the same kind (kernel-mode or KPTI user-mode) if there is one.</summary>
    public bool TryAllocRoot(bool user, out ulong frame)
    {
        if (_freeRoots[user ? 1 : 0].TryPop(out frame))
        {
            InUse++;
            return true;
        }

        return TryAlloc(out frame);
    }

    /// <summary>A 2 MiB-aligned block of 512 frames; its head frame.</summary>
    public bool TryAllocHuge(out ulong head)
    {
        if (_freeHuge.TryPop(out head))
        {
            InUse += (long)HugeFrames;
            return true;
        }

        ulong aligned = (_next + HugeFrames - 1) & ~(HugeFrames - 1);
        while (_reserved.Count > 0 && aligned + HugeFrames <= _end && _reserved.Any(f => f >= aligned && f < aligned + HugeFrames))
        {
            aligned += HugeFrames; // a block holding a reserved frame is never a huge page; its other frames go to the 4 KiB list
        }

        if (aligned + HugeFrames > _end)
        {
            return false;
        }

        for (ulong f = _next; f < aligned; f++)
        {
            if (!_reserved.Contains(f))
            {
                _free.Push(f);
            }
        }

        head = aligned;
        _next = aligned + HugeFrames;
        InUse += (long)HugeFrames;
        return true;
    }

    /// <summary>Returns a 4 KiB frame (never a root: see <see cref="FreeRoot"/>).</summary>
    public void Free(ulong frame)
    {
        _free.Push(frame);
        InUse--;
    }

    /// <summary>Returns a root to the free list of its kind; it will only be reused as a root of that kind.</summary>
    public void FreeRoot(ulong frame, bool user)
    {
        if (!_reserved.Contains(frame))
        {
            _freeRoots[user ? 1 : 0].Push(frame); // a reserved root waits for its next TakeReserved
        }

        InUse--;
    }

    /// <summary>Returns a 2 MiB block by its head frame.</summary>
    public void FreeHuge(ulong head)
    {
        _freeHuge.Push(head);
        InUse -= (long)HugeFrames;
    }

    private bool TryBump(out ulong frame)
    {
        while (_next < _end && _reserved.Contains(_next))
        {
            _next++;
        }

        frame = _next;
        if (_next >= _end)
        {
            return false;
        }

        _next++;
        return true;
    }
}
