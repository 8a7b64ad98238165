using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Kernel;

/// <summary>Address-space lifetime: create, fork (copy-on-write), exec, munmap (exit is in the teardown part).</summary>
public sealed partial class GuestKernel
{
    private const int UserEntries = 256; // the lower half of the root

    // Fixed roots (KernelOptions.FixedRoots) held by a live process.
    private readonly HashSet<ulong> _fixedLive = [];

    /// <summary>
    /// A fresh, exec'd address space with nothing mapped in user space: a new root (and KPTI user root) whose
    /// kernel half is copied from <c>init_mm</c> with <c>ptwrite</c>s (Linux's <c>pgd_alloc</c>), on <paramref name="vcpu"/>.
    /// </summary>
    /// <param name="vcpu">The vCPU whose kernel builds it.</param>
    /// <param name="program">The program it runs (text shared through the page cache); a new, private one when null.</param>
    /// <param name="root">The root frame to use, one of <see cref="KernelOptions.FixedRoots"/> that no live process holds (an
    /// imported address space's real CR3); the allocator's choice when null.</param>
    public Process CreateProcess(int vcpu = 0, int? program = null, ulong? root = null)
    {
        if (root is ulong want && (!Options.FixedRoots.Contains(want) || !_fixedLive.Add(want)))
        {
            throw new ArgumentException($"root frame 0x{want:x} is not a free fixed root.", nameof(root));
        }

        EnterKernel(vcpu, _cpus[vcpu]);
        ulong rootFrame = NewRoot(vcpu, Idle.Root, user: false, root);
        ulong userRoot = _kpti ? NewRoot(vcpu, _userTemplate, user: true) : 0;
        int id = _nextId++;
        var p = new Process(id, _nextContext++, rootFrame, userRoot, idle: false, program ?? -id);
        var prog = _programs.GetValueOrDefault(p.Program, (0, []));
        _programs[p.Program] = (prog.Users + 1, prog.Pages);
        _live.Add(p);
        return p;
    }

    /// <summary>
    /// <c>fork</c> by the process on <paramref name="vcpu"/> (made current first): the child's hierarchy is built
    /// table by table; each writable leaf is write-protected in the parent, then copied into the child (Linux's
    /// <c>copy_present_pte</c>), the frame now shared; then the parent's TLBs are flushed (<c>flush_tlb_mm</c>).
    /// Program text is not copied unless <see cref="KernelOptions.EagerFork"/>: Linux skips VMAs without anonymous pages (<c>vma_needs_copy</c>, since 2.6.14's
    /// lazy page-table copies), so the child faults its text in from the page cache.
    /// </summary>
    public Process Fork(int vcpu, Process parent)
    {
        Run(vcpu, parent);
        var child = CreateProcess(vcpu, parent.Program);
        int copied = 0;
        if (CopyTables(vcpu, child, parent.Root, child.Root, _levels, ref copied))
        {
            FlushRange(parent, 0, -1);
        }

        RetireKernel(vcpu, Options.Costs.Fork + (copied * Options.Costs.ForkPerEntry));
        return child;
    }

    /// <summary>
    /// <c>exec</c> on <paramref name="vcpu"/>: a fresh address space is made and switched to, then the old one
    /// (<paramref name="p"/>) is torn down as at exit. Returns the new process.
    /// </summary>
    public Process Exec(int vcpu, Process p, int? program = null)
    {
        Run(vcpu, p);
        RetireKernel(vcpu, Options.Costs.Exec);
        var fresh = CreateProcess(vcpu, program);
        Run(vcpu, fresh);
        Teardown(p, vcpu);
        return fresh;
    }

    /// <summary>A system call by the process on <paramref name="vcpu"/>: kernel entry (KPTI: the kernel root) and the kernel's work.</summary>
    public void Syscall(int vcpu)
    {
        EnterKernel(vcpu, _cpus[vcpu]);
        RetireKernel(vcpu, Options.Costs.Syscall);
    }

    /// <summary>
    /// <c>munmap</c> of <paramref name="pages"/> pages from <paramref name="start"/> by the process on
    /// <paramref name="vcpu"/>: each mapped leaf written to zero (a 2 MiB leaf inside the range goes whole), the page
    /// tables the unmapping emptied unlinked and freed (Linux's <c>free_pgtables</c>, below), then INVLPG per page over
    /// the span the flush covers, or one flush past <see cref="FlushCeiling"/> pages.
    /// </summary>
    public void Munmap(int vcpu, Gva start, int pages)
    {
        ulong va = start.Value;
        var c = _cpus[vcpu];
        var p = c.Current;
        if (p.IsIdle)
        {
            throw new InvalidOperationException($"vCPU {vcpu} runs no process: call Run first.");
        }

        EnterKernel(vcpu, c);
        RetireKernel(vcpu, Options.Costs.Syscall);
        ulong end = va + ((ulong)pages << Pte.PageShift);
        ulong lo = ulong.MaxValue, hi = 0;
        bool huge = false;
        for (ulong a = va & ~Pte.PageOffsetMask; a < end;)
        {
            ulong pa = FindEntry(p.Root, a, out int level, out ulong e);
            ulong size = 1UL << Pte.Shift(level);
            if ((e & Pte.Present) != 0)
            {
                Put(vcpu, pa, 0);
                Release((e & Pte.AddrMask) >> Pte.PageShift, huge: level > 1);
                huge |= level > 1;
                lo = Math.Min(lo, a & ~(size - 1));
                hi = Math.Max(hi, a & ~(size - 1));
            }

            a = (a & ~(size - 1)) + size;
        }

        FreeEmptied(vcpu, p, p.Root, _levels, va & ~Pte.PageOffsetMask, end, ref lo);
        hi = lo == ulong.MaxValue ? hi : Math.Max(hi, lo); // tables freed with no leaf mapped: their first page still flushes
        if (lo <= hi)
        {
            FlushRange(p, lo, huge ? -1 : (int)((hi - lo) >> Pte.PageShift) + 1);
        }
    }

    /// <summary>
    /// Linux's <c>free_pgtables</c> after an unmap, bottom-up: each page table below <paramref name="table"/> that
    /// covers part of [<paramref name="va"/>, <paramref name="end"/>) and holds no entry any more is unlinked (its
    /// entry in the table above written to zero, in both roots under KPTI) and freed. Linux frees the tables whose
    /// range no other mapping shares (between the previous mapping's end and the next one's start); the model keeps no
    /// list of mappings and takes a table the unmapping left empty to be one. Each freed table widens the flush to the
    /// first page of its range (<c>pte_free_tlb</c> and <c>pmd_free_tlb</c>: <c>__tlb_adjust_range(tlb, address,
    /// PAGE_SIZE)</c>), so <paramref name="lo"/> may move down.
    /// </summary>
    private void FreeEmptied(int vcpu, Process p, ulong table, int level, ulong va, ulong end, ref ulong lo)
    {
        if (level == 1)
        {
            return;
        }

        int shift = Pte.Shift(level);
        for (ulong a = va; a < end; a = ((a >> shift) + 1) << shift)
        {
            int idx = Pte.Index(a, level);
            ulong pa = (table << Pte.PageShift) | ((ulong)idx << Pte.EntryShift);
            ulong e = _mem.Read(pa);
            if ((e & Pte.Present) == 0 || (e & Pte.Ps) != 0)
            {
                continue;
            }

            ulong child = (e & Pte.AddrMask) >> Pte.PageShift;
            ulong spanEnd = Math.Min(end, ((a >> shift) + 1) << shift);
            FreeEmptied(vcpu, p, child, level - 1, a, spanEnd, ref lo);
            if (_mem.Find(child) is { } words && NextUsed(words, 0, Pte.EntriesPerTable) < Pte.EntriesPerTable)
            {
                continue;
            }

            Put(vcpu, pa, 0);
            if (level == _levels && p.UserRoot != 0)
            {
                Put(vcpu, (p.UserRoot << Pte.PageShift) | ((ulong)idx << Pte.EntryShift), 0);
            }

            Frames.Free(child);
            lo = Math.Min(lo, (a >> shift) << shift);
        }
    }

    /// <summary>The first non-zero word at or after <paramref name="from"/> (vectorised: tables are mostly empty), or <paramref name="end"/>.</summary>
    private static int NextUsed(ulong[] words, int from, int end)
    {
        if (from >= end)
        {
            return end;
        }

        int i = words.AsSpan(from, end - from).IndexOfAnyExcept(0UL);
        return i < 0 ? end : from + i;
    }

    /// <summary>
    /// The present entries of <paramref name="table"/> (a level-<paramref name="level"/> table; at the root only the
    /// user half), in index order, each as it stands when reached: a caller may clear or rewrite the entry it was handed.
    /// </summary>
    private IEnumerable<(int Index, ulong Entry)> PresentEntries(ulong table, int level)
    {
        var words = _mem.Find(table);
        if (words is null)
        {
            yield break;
        }

        int n = level == _levels ? UserEntries : Pte.EntriesPerTable;
        for (int i = NextUsed(words, 0, n); i < n; i = NextUsed(words, i + 1, n))
        {
            if ((words[i] & Pte.Present) != 0)
            {
                yield return (i, words[i]);
            }
        }
    }

    private ulong NewRoot(int vcpu, ulong template, bool user, ulong? fixedFrame = null)
    {
        ulong root = fixedFrame ?? AllocRootFrame(vcpu, user);
        if (fixedFrame is ulong f)
        {
            Frames.TakeReserved(f);
        }

        var words = _mem.Find(root);
        var src = _mem.Get(template);
        for (int i = 0; i < Pte.EntriesPerTable; i++)
        {
            ulong want = i < UserEntries ? 0 : src[i];
            if ((words is null ? 0 : words[i]) != want)
            {
                Put(vcpu, (root << Pte.PageShift) | ((ulong)i << Pte.EntryShift), want);
            }
        }

        return root;
    }

    /// <summary>
    /// Copies the user half below <paramref name="src"/> into <paramref name="dst"/>, counting the leaves copied in
    /// <paramref name="copied"/>; true if a parent leaf was write-protected. Page-cache (text) leaves are skipped.
    /// </summary>
    private bool CopyTables(int vcpu, Process child, ulong src, ulong dst, int level, ref int copied)
    {
        bool protectedAny = false;
        foreach (var (i, entry) in PresentEntries(src, level))
        {
            ulong e = entry;
            ulong srcPa = (src << Pte.PageShift) | ((ulong)i << Pte.EntryShift);
            ulong dstPa = (dst << Pte.PageShift) | ((ulong)i << Pte.EntryShift);
            if (level == 1 || (e & Pte.Ps) != 0)
            {
                ulong frame = (e & Pte.AddrMask) >> Pte.PageShift;
                bool text = _cacheFrames.Contains(frame);
                if (text && !Options.EagerFork)
                {
                    continue; // refaulted from the page cache by the child
                }

                copied++;
                if ((e & Pte.Rw) != 0)
                {
                    e = (e & ~Pte.Rw) | SoftCow;
                    Put(vcpu, srcPa, e);
                    protectedAny = true;
                }

                Put(vcpu, dstPa, e & ~Pte.Accessed); // copy_present_pte: the child's copy is made old (pte_mkold)
                if (!text)
                {
                    AddRef(frame, huge: level > 1); // text frames belong to the page cache, which keeps them
                }

                continue;
            }

            ulong t = AllocTable(vcpu);
            ulong link = (t << Pte.PageShift) | TableFlags;
            Put(vcpu, dstPa, link);
            if (level == _levels && child.UserRoot != 0)
            {
                Put(vcpu, (child.UserRoot << Pte.PageShift) | ((ulong)i << Pte.EntryShift), link);
            }

            protectedAny |= CopyTables(vcpu, child, (e & Pte.AddrMask) >> Pte.PageShift, t, level - 1, ref copied);
        }

        return protectedAny;
    }
}
