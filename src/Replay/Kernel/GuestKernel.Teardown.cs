using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Kernel;

/// <summary>Address-space teardown at exit and exec (Linux's <c>exit_mmap</c>).</summary>
public sealed partial class GuestKernel
{
    /// <summary>
    /// <c>exit</c> (the last reference to the mm): on the vCPU it runs on (or last ran on) the optional
    /// <c>ptdying</c> hint, every leaf written to zero, every table unlinked bottom-up and freed, the mm's TLBs
    /// flushed where it is current (elsewhere the PCID generation check covers it); vCPUs still running it switch to
    /// <c>init_mm</c>; its roots are freed.
    /// </summary>
    public void Exit(Process p) => Teardown(p, Math.Max(0, p.LastVcpu));

    private void Teardown(Process p, int vcpu)
    {
        if (!p.Alive || p.IsIdle)
        {
            throw new InvalidOperationException($"{p} cannot exit: it is the idle mm or has already exited.");
        }

        for (int u = 0; u < _cpus.Length; u++)
        {
            if (_cpus[u].Current == p)
            {
                vcpu = u;
                break;
            }
        }

        EnterKernel(vcpu, _cpus[vcpu]);
        if (Options.PtDying)
        {
            Emit(TraceOp.PtDying, 0, p.Root << Pte.PageShift, 0, vcpu, false);
        }

        int zapped = 0;
        ZapLeaves(vcpu, p.Root, _levels, ref zapped);
        FreeTables(vcpu, p, p.Root, _levels);
        RetireKernel(vcpu, Options.Costs.Exit + (zapped * Options.Costs.ExitPerEntry));
        FlushRange(p, 0, -1);
        for (int u = 0; u < _cpus.Length; u++)
        {
            if (_cpus[u].Current == p)
            {
                Switch(u, _cpus[u], Idle);
            }
        }

        p.Alive = false;
        _live.Remove(p);
        DropProgram(p);
        Frames.FreeRoot(p.Root, user: false);
        _fixedLive.Remove(p.Root);
        if (p.UserRoot != 0)
        {
            Frames.FreeRoot(p.UserRoot, user: true);
        }
    }

    /// <summary>
    /// One process fewer runs <paramref name="p"/>'s program. A private program (one no other process can name) leaves
    /// the page cache with its last process, as an unlinked file's pages do; a named program's text stays cached.
    /// </summary>
    private void DropProgram(Process p)
    {
        var (users, pages) = _programs[p.Program];
        if (users > 1 || p.Program >= 0)
        {
            _programs[p.Program] = (users - 1, pages);
            return;
        }

        _programs.Remove(p.Program);
        foreach (var (page, frame) in pages)
        {
            _pageCache.Remove((p.Program, page));
            _cacheFrames.Remove(frame);
            Frames.Free(frame);
        }
    }

    /// <summary>Linux's <c>unmap_vmas</c> at exit: every user leaf written to zero, its frame released.</summary>
    private void ZapLeaves(int vcpu, ulong table, int level, ref int zapped)
    {
        foreach (var (i, e) in PresentEntries(table, level))
        {
            if (level == 1 || (e & Pte.Ps) != 0)
            {
                Put(vcpu, (table << Pte.PageShift) | ((ulong)i << Pte.EntryShift), 0);
                Release((e & Pte.AddrMask) >> Pte.PageShift, huge: level > 1);
                zapped++;
            }
            else
            {
                ZapLeaves(vcpu, (e & Pte.AddrMask) >> Pte.PageShift, level - 1, ref zapped);
            }
        }
    }

    /// <summary>Linux's <c>free_pgtables</c>: bottom-up, each table's link cleared and its frame freed.</summary>
    private void FreeTables(int vcpu, Process p, ulong table, int level)
    {
        foreach (var (i, e) in PresentEntries(table, level))
        {
            ulong child = (e & Pte.AddrMask) >> Pte.PageShift;
            if (level > 2)
            {
                FreeTables(vcpu, p, child, level - 1);
            }

            Put(vcpu, (table << Pte.PageShift) | ((ulong)i << Pte.EntryShift), 0);
            if (level == _levels && p.UserRoot != 0)
            {
                Put(vcpu, (p.UserRoot << Pte.PageShift) | ((ulong)i << Pte.EntryShift), 0);
            }

            Frames.Free(child);
        }
    }
}
