using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

public sealed class SchedulingTests
{
    [Fact]
    public void Without_pcid_a_switch_loads_the_plain_root()
    {
        var h = new KernelHarness();
        var p = h.Kernel.CreateProcess();
        var ev = h.Take(() => h.Kernel.Run(0, p));
        Assert.Equal([new Ev(TraceOp.Cr3, 0, 0, 0, p.Root << 12, false)], ev);
        Assert.Empty(h.Take(() => h.Kernel.Run(0, p))); // already current: no switch
    }

    [Fact]
    public void With_pcid_a_process_keeps_its_asid_and_switches_back_without_a_flush()
    {
        var h = new KernelHarness(new KernelOptions { Pcid = true });
        var k = h.Kernel;
        var a = k.CreateProcess();
        var b = k.CreateProcess();

        // init_mm took ASID 0 (PCID 1) at boot; a gets ASID 1 (PCID 2), b ASID 2 (PCID 3): new slots flush.
        Assert.Equal((a.Root << 12) | 2, h.Take(() => k.Run(0, a))[0].Value);
        Assert.Equal((b.Root << 12) | 3, h.Take(() => k.Run(0, b))[0].Value);
        Assert.Equal((a.Root << 12) | 2 | Pte.Cr3NoFlush, h.Take(() => k.Run(0, a))[0].Value);
    }

    [Fact]
    public void With_pcid_switching_to_an_mm_whose_tlb_generation_advanced_elsewhere_flushes_its_pcid()
    {
        var h = new KernelHarness(new KernelOptions { Pcid = true, Vcpus = 2 });
        var k = h.Kernel;
        var a = k.CreateProcess();
        var b = k.CreateProcess();
        k.Run(0, a);
        k.Access(0, TraceOp.Write, new Gva(0x1000));
        k.Access(0, TraceOp.Write, new Gva(0x2000)); // keeps the page table: the munmap frees no table
        k.Run(0, b);   // a's entries stay cached under its PCID on vCPU 0
        k.Run(1, a);
        var ev = h.Take(() => k.Munmap(1, new Gva(0x1000), 1));
        Assert.Equal("ptwrite invlpg", KernelHarness.Ops(ev)); // only vCPU 1 has a loaded: no IPI to vCPU 0
        Assert.All(ev, e => Assert.Equal(1, e.Vcpu));

        // Back on vCPU 0, a's ASID slot is behind a's tlb_gen: CR3 without bit 63 (flush that PCID).
        Assert.Equal((a.Root << 12) | 2, h.Take(() => k.Run(0, a))[0].Value);
    }

    [Fact]
    public void With_pcid_a_seventh_address_space_recycles_the_oldest_of_the_six_asids_with_a_flush()
    {
        var h = new KernelHarness(new KernelOptions { Pcid = true });
        var k = h.Kernel;
        var ps = Enumerable.Range(0, 6).Select(_ => k.CreateProcess()).ToArray();
        var values = ps.Select(p => h.Take(() => k.Run(0, p))[0].Value).ToArray();

        // Six slots: init_mm holds ASID 0, so the processes get 1..5 and the sixth wraps to ASID 0 (PCID 1).
        Assert.Equal([2UL, 3, 4, 5, 6, 1], values.Select(v => v & Pte.PcidMask));
        Assert.All(values, v => Assert.Equal(0UL, v & Pte.Cr3NoFlush));
        Assert.Equal(2UL | Pte.Cr3NoFlush, h.Take(() => k.Run(0, ps[0]))[0].Value & (Pte.PcidMask | Pte.Cr3NoFlush));
    }

    [Fact]
    public void With_kpti_user_accesses_run_on_the_user_root_and_kernel_work_on_the_kernel_root()
    {
        var h = new KernelHarness(new KernelOptions { Kpti = true });
        var k = h.Kernel;
        var p = k.CreateProcess();
        Assert.NotEqual(0UL, p.UserRoot);
        k.Run(0, p);
        k.Access(0, TraceOp.Write, new Gva(0x1000));

        // Mapped page: return to user (user root), the access, kernel entry (kernel root), a direct-map read.
        var ev = h.Take(() =>
        {
            k.Access(0, TraceOp.Read, new Gva(0x1000));
            k.Access(0, TraceOp.Read, new Gva(GuestKernel.KernelBase + 64), user: false);
            k.Access(0, TraceOp.Read, new Gva(0x1000));
        });
        Assert.Equal("read cr3 read cr3 read", KernelHarness.Ops(ev));
        Assert.Equal(p.Root << 12, ev[1].Value);
        Assert.Equal(p.UserRoot << 12, ev[3].Value);
    }

    [Fact]
    public void With_kpti_and_pcid_the_user_pcid_is_the_kernel_pcid_plus_2048_and_a_fault_enters_and_leaves_the_kernel()
    {
        var h = new KernelHarness(new KernelOptions { Kpti = true, Pcid = true });
        var k = h.Kernel;
        var p = k.CreateProcess();
        k.Run(0, p); // kernel root, PCID 2 (ASID 1), flushed: its user PCID is flushed at the next return

        // Return to user (user root, PCID 2050, flushing), read (fails), kernel entry (kernel root, PCID 2, kept),
        // the fault's ptwrites (PML4[0] in both roots, PDPT[0], PD[0], PT[1]), return to user (kept), the retry.
        var ev = h.Take(() => k.Access(0, TraceOp.Read, new Gva(0x1000)));
        Assert.Equal("cr3 read cr3 ptwrite ptwrite ptwrite ptwrite ptwrite cr3 read", KernelHarness.Ops(ev));
        Assert.Equal((p.UserRoot << 12) | 2050, ev[0].Value);
        Assert.Equal((p.Root << 12) | 2 | Pte.Cr3NoFlush, ev[2].Value);
        Assert.Equal((p.UserRoot << 12) | 2050 | Pte.Cr3NoFlush, ev[8].Value);
        Assert.Equal(ev[3].Value, ev[4].Value); // the user-half top entry is written in both roots
        Assert.Equal(p.UserRoot << 12, ev[4].Pa);
    }
}
