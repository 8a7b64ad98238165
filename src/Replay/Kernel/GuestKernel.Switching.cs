using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Kernel;

/// <summary>Context switches, KPTI kernel entry/exit and TLB invalidation (Linux <c>arch/x86/mm/tlb.c</c>).</summary>
public sealed partial class GuestKernel
{
    /// <summary>With KPTI, the user PCID is the kernel PCID plus this (Linux's <c>X86_CR3_PTI_PCID_USER_BIT</c>).</summary>
    public const ulong KptiUserPcid = 2048;

    /// <summary>
    /// Schedules <paramref name="p"/> on <paramref name="vcpu"/>: a context switch (CR3 load per the PCID/KPTI
    /// rules) unless it is already current there. Threads of one process may run on several vCPUs at once.
    /// </summary>
    public void Run(int vcpu, Process p)
    {
        if (!p.Alive)
        {
            throw new InvalidOperationException($"{p} has exited and cannot run.");
        }

        var c = _cpus[vcpu];
        if (c.Current == p && c.Loaded)
        {
            return;
        }

        if (c.Loaded)
        {
            EnterKernel(vcpu, c);
        }

        RetireKernel(vcpu, Options.Costs.Switch);
        Switch(vcpu, c, p);
    }

    /// <summary>
    /// Linux's <c>switch_mm_irqs_off</c>. Without PCID a CR3 load (flushing everything non-global). With PCID
    /// the mm's ASID on this vCPU (<see cref="CpuState.Choose"/>): CR3 with bit 63 set unless the slot is new or
    /// its TLB generation is behind the mm's; a flushed slot also flushes its KPTI user PCID at the next return.
    /// </summary>
    private void Switch(int vcpu, CpuState c, Process p)
    {
        c.Current = p;
        c.Loaded = true;
        c.InKernel = true;
        p.RanOn |= 1UL << vcpu;
        p.LastVcpu = vcpu;
        ulong value = p.Root << Pte.PageShift;
        if (_pcid)
        {
            (int asid, bool flush) = c.Choose(p);
            c.Asid = asid;
            value |= (uint)(asid + 1);
            if (!flush)
            {
                value |= Pte.Cr3NoFlush;
            }
            else if (_kpti)
            {
                c.UserFlush[asid] = true;
            }
        }

        Emit(TraceOp.Cr3, 0, 0, value, vcpu, false);
    }

    /// <summary>KPTI kernel entry (syscall, fault, interrupt): the kernel root, keeping the kernel PCID's entries.</summary>
    private void EnterKernel(int vcpu, CpuState c)
    {
        if (!c.Loaded)
        {
            Switch(vcpu, c, c.Current);
            return;
        }

        if (!_kpti || c.InKernel)
        {
            return;
        }

        c.InKernel = true;
        ulong value = c.Current.Root << Pte.PageShift;
        if (_pcid)
        {
            value |= (uint)(c.Asid + 1) | Pte.Cr3NoFlush;
        }

        Emit(TraceOp.Cr3, 0, 0, value, vcpu, false);
    }

    /// <summary>KPTI return to user mode: the user root and user PCID, flushed if the ASID's user flush is pending.</summary>
    private void ReturnToUser(int vcpu, CpuState c)
    {
        if (!_kpti || !c.InKernel)
        {
            return;
        }

        c.InKernel = false;
        ulong value = c.Current.UserRoot << Pte.PageShift;
        if (_pcid)
        {
            value |= (uint)(c.Asid + 1) + KptiUserPcid;
            if (c.UserFlush[c.Asid])
            {
                c.UserFlush[c.Asid] = false;
            }
            else
            {
                value |= Pte.Cr3NoFlush;
            }
        }

        Emit(TraceOp.Cr3, 0, 0, value, vcpu, false);
    }

    /// <summary>
    /// Linux's <c>flush_tlb_mm_range</c> after translations of <paramref name="p"/> were removed or narrowed:
    /// the mm's TLB generation advances, and every vCPU where it is current (the IPI targets of a shootdown) gets
    /// INVLPG per page, or one flush for more than <see cref="FlushCeiling"/> pages (<paramref name="pages"/> &lt; 0
    /// = the whole mm); its ASID slot is brought up to date and, with KPTI, its user PCID is flushed at the next
    /// return to user. A vCPU that ran the mm earlier holds nothing of it without PCID (its CR3 load flushed), and
    /// with PCID flushes the stale entries when it next switches to the mm, by the generation check.
    /// </summary>
    private void FlushRange(Process p, ulong va, int pages)
    {
        p.TlbGen++;
        for (int u = 0; u < _cpus.Length; u++)
        {
            var c = _cpus[u];
            if (c.Current != p)
            {
                continue;
            }

            EnterKernel(u, c);
            if (pages < 0 || pages > FlushCeiling)
            {
                Emit(TraceOp.Flush, 0, 0, 0, u, false);
            }
            else
            {
                for (int i = 0; i < pages; i++)
                {
                    Emit(TraceOp.Invlpg, va + ((ulong)i << Pte.PageShift), 0, 0, u, false);
                }
            }

            if (_pcid)
            {
                c.SlotGen[c.Asid] = p.TlbGen;
                if (_kpti)
                {
                    c.UserFlush[c.Asid] = true;
                }
            }
        }
    }
}
