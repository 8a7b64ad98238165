using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Kernel;

/// <summary>Accesses and the page-fault handler: demand paging, transparent huge pages, copy-on-write.</summary>
public sealed partial class GuestKernel
{
    /// <summary>
    /// An access by the process current on <paramref name="vcpu"/>. If the guest walk would fail (not present,
    /// or a write to a read-only or COW page, or a fetch from a no-execute page) the trace shows the failing
    /// access, the fault handler's events (page-table stores, invalidations) and the retried access.
    /// <paramref name="at"/> is a user address below <see cref="UserTop"/>, or with <paramref name="user"/>
    /// false an address in the kernel's direct map (never faults).
    /// </summary>
    public void Access(int vcpu, TraceOp kind, Gva at, bool user = true)
    {
        ulong va = at.Value;
        if (kind > TraceOp.Fetch)
        {
            throw new ArgumentException($"{kind} is not an access (read, write or fetch).", nameof(kind));
        }

        var c = _cpus[vcpu];
        if (va >= UserTop)
        {
            if (user || va < KernelBase || va - KernelBase >= DirectMapBytes)
            {
                throw new ArgumentOutOfRangeException(nameof(at), $"0x{va:x} is neither a user address nor in the kernel's direct map.");
            }

            EnterKernel(vcpu, c);
            Emit(kind, va, 0, 0, vcpu, false);
            return;
        }

        var p = c.Current;
        if (p.IsIdle)
        {
            throw new InvalidOperationException($"vCPU {vcpu} runs no process: call Run first.");
        }

        if (user)
        {
            ReturnToUser(vcpu, c);
        }
        else
        {
            EnterKernel(vcpu, c);
        }

        ulong pa = FindEntry(p.Root, va, out int level, out ulong e);
        if (Permits(e, kind))
        {
            Emit(kind, va, 0, 0, vcpu, user);
            return;
        }

        Emit(kind, va, 0, 0, vcpu, user);
        EnterKernel(vcpu, c);
        HandleFault(vcpu, p, kind, va, pa, level, e);
        if (user)
        {
            ReturnToUser(vcpu, c);
        }

        Emit(kind, va, 0, 0, vcpu, user);
    }

    private static bool Permits(ulong leaf, TraceOp kind) =>
        (leaf & Pte.Present) != 0 && kind switch
        {
            TraceOp.Write => (leaf & Pte.Rw) != 0,
            TraceOp.Fetch => (leaf & Pte.Nx) == 0,
            _ => true,
        };

    private void HandleFault(int vcpu, Process p, TraceOp kind, ulong va, ulong pa, int level, ulong e)
    {
        if ((e & Pte.Present) == 0)
        {
            DemandMap(vcpu, p, kind, va);
            return;
        }

        ulong updated = e & ~SoftCow;
        if (kind == TraceOp.Write && (e & Pte.Rw) == 0)
        {
            ulong frame = (e & Pte.AddrMask) >> Pte.PageShift;
            if (_extraRefs.ContainsKey(frame) || _cacheFrames.Contains(frame) || IsZeroPage(frame, level))
            {
                CopyOnWrite(vcpu, p, va, pa, level, e);
                return;
            }

            updated |= Pte.Rw | Pte.Dirty; // sole owner of a COW page (wp_page_reuse), or a read-only page made writable
        }

        if (kind == TraceOp.Fetch)
        {
            updated &= ~Pte.Nx;
        }

        Put(vcpu, pa, updated | Pte.Accessed);

        // A widening needs no invalidation architecturally (Linux relies on spurious-fault handling), but a stale
        // narrower entry left in a TLB or a splintered shadow would still be used by reads and fetches, and
        // --verify demands the permissions of a fresh walk: so invalidate like a narrowing.
        FlushRange(p, va & ~((1UL << Pte.Shift(level)) - 1), level == 1 ? 1 : -1);
    }

    /// <summary>
    /// First touch: intermediate tables as needed, then the leaf (a 2 MiB one with THP when it fits). A read maps the
    /// shared zero page read-only, as Linux's <c>do_anonymous_page</c> does (and, with THP,
    /// <c>do_huge_pmd_anonymous_page</c> the huge zero page, <c>use_zero_page</c> being on by default); the first write
    /// then copies it (<see cref="CopyOnWrite"/>).
    /// </summary>
    private void DemandMap(int vcpu, Process p, TraceOp kind, ulong va)
    {
        if (Options.Thp && kind != TraceOp.Fetch)
        {
            ulong pdEntry = EnsureTables(vcpu, p, va, 2);
            if (_mem.Read(pdEntry) == 0)
            {
                if (kind == TraceOp.Read && HugeZeroPage() is ulong zero)
                {
                    Put(vcpu, pdEntry, (zero << Pte.PageShift) | ZeroFlags | Pte.Ps);
                    return;
                }

                if (kind == TraceOp.Write && Frames.TryAllocHuge(out ulong head))
                {
                    Put(vcpu, pdEntry, (head << Pte.PageShift) | DataFlags | Pte.Dirty | Pte.Ps);
                    return;
                }
            }
        }

        ulong leaf = EnsureTables(vcpu, p, va, 1);
        if (kind == TraceOp.Fetch)
        {
            // Text comes from the page cache: a page another process of the program faulted in is mapped again.
            var key = (p.Program, va >> Pte.PageShift);
            if (!_pageCache.TryGetValue(key, out ulong cached))
            {
                cached = AllocFrame(vcpu);
                _pageCache[key] = cached;
                _cacheFrames.Add(cached);
                _programs[p.Program].Pages.Add((key.Item2, cached));
            }

            Put(vcpu, leaf, (cached << Pte.PageShift) | CodeFlags);
            FaultAround(vcpu, p, va, leaf);
            return;
        }

        if (kind == TraceOp.Read)
        {
            Put(vcpu, leaf, (ZeroPage(vcpu) << Pte.PageShift) | ZeroFlags);
            return;
        }

        ulong frame = AllocFrame(vcpu);
        Put(vcpu, leaf, (frame << Pte.PageShift) | DataFlags | Pte.Dirty);
        Track(p, va);
    }

    /// <summary>Linux's <c>empty_zero_page</c>: one frame, taken at the first read fault that maps it, never freed.</summary>
    private ulong ZeroPage(int vcpu)
    {
        if (_zeroFrame == 0)
        {
            _zeroFrame = AllocFrame(vcpu);
        }

        return _zeroFrame;
    }

    /// <summary>
    /// Linux's huge zero page (<c>mm_get_huge_zero_page</c>): a 2 MiB block taken at the first read fault that maps
    /// one and kept (Linux's shrinker may free it once nothing maps it; the model does not); null when no block is
    /// free, and the fault falls back to 4 KiB, as Linux's does.
    /// </summary>
    private ulong? HugeZeroPage()
    {
        if (_hugeZeroHead == 0 && Frames.TryAllocHuge(out ulong head))
        {
            _hugeZeroHead = head;
        }

        return _hugeZeroHead == 0 ? null : _hugeZeroHead;
    }

    /// <summary>Whether a leaf at <paramref name="level"/> mapping <paramref name="frame"/> maps a zero page.</summary>
    private bool IsZeroPage(ulong frame, int level) =>
        level == 1 ? frame == _zeroFrame && frame != 0 : frame == _hugeZeroHead && frame != 0;

    /// <summary>
    /// Linux's <c>wp_page_copy</c>: a new frame, the old leaf cleared and flushed on every vCPU of the mm
    /// (<c>ptep_clear_flush</c>), the new writable leaf set. A shared 2 MiB page is copied whole if a 2 MiB block
    /// is free; otherwise it is zapped and the faulting page refaulted as 4 KiB (Linux would split it).
    /// </summary>
    private void CopyOnWrite(int vcpu, Process p, ulong va, ulong pa, int level, ulong e)
    {
        ulong old = (e & Pte.AddrMask) >> Pte.PageShift;
        ulong keep = e & (Pte.Us | Pte.Nx | Pte.Ps);
        if (level > 1 && IsZeroPage(old, level))
        {
            SplitHugeZero(vcpu, p, va, pa);
            return;
        }

        if (level == 1)
        {
            ulong frame = AllocFrame(vcpu);
            Put(vcpu, pa, 0);
            FlushRange(p, va & ~Pte.PageOffsetMask, 1);
            Put(vcpu, pa, (frame << Pte.PageShift) | keep | Pte.Present | Pte.Rw | Pte.Accessed | Pte.Dirty);
            Release(old, huge: false);
            Track(p, va);
            return;
        }

        bool copied = Frames.TryAllocHuge(out ulong head);
        Put(vcpu, pa, 0);
        FlushRange(p, va & ~(Huge - 1), -1);
        Release(old, huge: true);
        if (copied)
        {
            Put(vcpu, pa, (head << Pte.PageShift) | keep | Pte.Present | Pte.Rw | Pte.Accessed | Pte.Dirty);
        }
        else
        {
            DemandMap(vcpu, p, TraceOp.Write, va);
        }
    }

    /// <summary>
    /// A write to the huge zero page: Linux's <c>do_huge_pmd_wp_page</c> falls back to 4 KiB
    /// (<c>__split_huge_zero_page_pmd</c>: the 2 MiB leaf cleared and flushed, a page table filled with 512 leaves of
    /// the 4 KiB zero page, linked in its place), and the write then copies the one 4 KiB zero page it hit. The table
    /// is taken here; Linux deposits it when the huge zero page is mapped.
    /// </summary>
    private void SplitHugeZero(int vcpu, Process p, ulong va, ulong pmdPa)
    {
        Put(vcpu, pmdPa, 0);
        FlushRange(p, va & ~(Huge - 1), -1);
        ulong zero = ZeroPage(vcpu);
        ulong t = AllocTable(vcpu);
        for (int i = 0; i < Pte.EntriesPerTable; i++)
        {
            Put(vcpu, (t << Pte.PageShift) | ((ulong)i << Pte.EntryShift), (zero << Pte.PageShift) | ZeroFlags);
        }

        Put(vcpu, pmdPa, (t << Pte.PageShift) | TableFlags);
        ulong pte = (t << Pte.PageShift) | ((ulong)Pte.Index(va, 1) << Pte.EntryShift);
        CopyOnWrite(vcpu, p, va, pte, 1, (zero << Pte.PageShift) | ZeroFlags);
    }

    /// <summary>Linux's <c>fault_around_bytes</c> (64 KiB since 3.15): a file fault maps this many pages around it.</summary>
    public const int FaultAroundPages = 16;

    /// <summary>
    /// Linux's <c>do_fault_around</c>: after a text fault, the other pages of the aligned 64 KiB window that the page
    /// cache already holds are mapped too (empty leaves only, same table), so a process faults its text in a sixteenth
    /// of the faults.
    /// </summary>
    private void FaultAround(int vcpu, Process p, ulong va, ulong leafPa)
    {
        ulong first = (va >> Pte.PageShift) & ~(ulong)(FaultAroundPages - 1);
        ulong table = leafPa & ~Pte.PageOffsetMask;
        var words = _mem.Find(table >> Pte.PageShift);
        for (ulong page = first; page < first + FaultAroundPages; page++)
        {
            int idx = (int)(page & Pte.IndexMask);
            if (page == va >> Pte.PageShift || (page >> (Pte.LargePageShift - Pte.PageShift)) != (va >> Pte.LargePageShift) || (words is not null && words[idx] != 0)
                || !_pageCache.TryGetValue((p.Program, page), out ulong cached))
            {
                continue;
            }

            Put(vcpu, table | ((ulong)idx << Pte.EntryShift), (cached << Pte.PageShift) | CodeFlags);
        }
    }

    /// <summary>Allocates the missing tables above <paramref name="va"/> down to <paramref name="level"/>; returns that level's entry address.</summary>
    private ulong EnsureTables(int vcpu, Process p, ulong va, int level)
    {
        ulong table = p.Root;
        for (int l = _levels; l > level; l--)
        {
            int idx = Pte.Index(va, l);
            ulong pa = (table << Pte.PageShift) | ((ulong)idx << Pte.EntryShift);
            ulong e = _mem.Read(pa);
            if ((e & Pte.Present) == 0)
            {
                ulong t = AllocTable(vcpu);
                e = (t << Pte.PageShift) | TableFlags;
                Put(vcpu, pa, e);
                if (l == _levels && p.UserRoot != 0)
                {
                    Put(vcpu, (p.UserRoot << Pte.PageShift) | ((ulong)idx << Pte.EntryShift), e); // KPTI: user-half top entries in both roots
                }
            }

            table = (e & Pte.AddrMask) >> Pte.PageShift;
        }

        return (table << Pte.PageShift) | ((ulong)Pte.Index(va, level) << Pte.EntryShift);
    }
}
