using Replay.Engines.Trace;
using Replay.Kernel;
using Replay.Import;

namespace Replay.Tests.Import;

/// <summary>The importers' host over the guest kernel model: demand paging, page-crossing accesses, switches, exits.</summary>
public sealed class KernelProcessHostTests
{
    private readonly List<(TraceOp Op, ulong Va, int Vcpu, uint Insns)> _events = [];
    private readonly KernelProcessHost _host;

    public KernelProcessHostTests() => _host = new KernelProcessHost(new GuestKernel(new KernelOptions { Vcpus = 2 }, Collect));

    [Fact]
    public void A_first_touch_faults_then_maps_then_retries_and_a_second_touch_just_accesses()
    {
        int p = _host.CreateProcess();
        _host.Run(0, p);
        int before = Take().Count;
        _host.Access(0, TraceOp.Read, 0x1234, 4);
        _host.Access(0, TraceOp.Read, 0x1ff0, 8);

        // The faulting read; PML4, PDPT, PD entries and the leaf (the zero page); the retried read; then the read of
        // the same page, which is mapped: one event.
        Assert.True(before > 0, "creating and running a process emits its address space and a CR3 load");
        Assert.Equal(
            [TraceOp.Read, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.Read, TraceOp.Read],
            Take().Select(e => e.Op));

        // The first write copies the zero page (wp_page_copy: the leaf cleared, INVLPG, the private leaf), the second
        // just writes.
        _host.Access(0, TraceOp.Write, 0x1ff0, 8);
        _host.Access(0, TraceOp.Write, 0x1000, 8);
        Assert.Equal(
            [TraceOp.Write, TraceOp.PtWrite, TraceOp.Invlpg, TraceOp.PtWrite, TraceOp.Write, TraceOp.Write],
            Take().Select(e => e.Op));
    }

    [Fact]
    public void An_access_crossing_a_page_boundary_touches_both_pages()
    {
        int p = _host.CreateProcess();
        _host.Run(0, p);
        Take();
        _host.Access(0, TraceOp.Read, 0x1ffc, 8);

        // Page 0x1000: fault, 4 ptwrites (all tables new), retry at 0x1ffc. Page 0x2000: fault, 1 ptwrite
        // (same page table), retry at the page start.
        var ev = Take();
        Assert.Equal(
            [TraceOp.Read, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.Read,
             TraceOp.Read, TraceOp.PtWrite, TraceOp.Read],
            ev.Select(e => e.Op));
        Assert.Equal([0x1ffcUL, 0x1ffcUL, 0x2000UL, 0x2000UL], ev.Where(e => e.Op == TraceOp.Read).Select(e => e.Va));
    }

    [Fact]
    public void Processes_have_their_own_address_spaces_and_switching_loads_cr3_once()
    {
        int a = _host.CreateProcess();
        int b = _host.CreateProcess();
        _host.Run(0, a);
        _host.Access(0, TraceOp.Fetch, 0x40_0000, 4);
        _host.Run(0, a);
        _host.Run(0, b);
        _host.Access(0, TraceOp.Fetch, 0x40_0000, 4); // mapped in a, not in b: faults again
        _host.Run(1, b);
        _host.Access(1, TraceOp.Fetch, 0x40_0000, 4); // b's page is mapped: no fault on the other vCPU
        // CR3 loads: the idle address space on vCPU 0 (creating the processes is kernel work there), a, b on
        // vCPU 0, b on vCPU 1.
        var ev = Take();
        Assert.Equal(4, ev.Count(e => e.Op == TraceOp.Cr3));
        Assert.Equal(2 + 2 + 1, ev.Count(e => e.Op == TraceOp.Fetch));
        Assert.Equal(1, ev.Count(e => e.Op == TraceOp.Fetch && e.Vcpu == 1));
    }

    [Fact]
    public void A_fetch_from_a_page_first_touched_as_data_is_a_permission_fault_the_kernel_fixes()
    {
        int p = _host.CreateProcess();
        _host.Run(0, p);
        _host.Access(0, TraceOp.Read, 0x40_0000, 4);
        Take();
        _host.Access(0, TraceOp.Fetch, 0x40_0004, 4);

        // The data page is no-execute: the fetch fails, the kernel clears NX (a ptwrite, then an INVLPG so no stale
        // no-execute entry survives), and the fetch is retried.
        Assert.Equal([TraceOp.Fetch, TraceOp.PtWrite, TraceOp.Invlpg, TraceOp.Fetch], Take().Select(e => e.Op));
    }

    [Fact]
    public void An_exit_tears_the_address_space_down_and_the_process_cannot_run_again()
    {
        int p = _host.CreateProcess();
        _host.Run(0, p);
        _host.Access(0, TraceOp.Write, 0x1000, 8);
        Take();
        _host.Exit(p);
        var ev = Take();
        Assert.Contains(ev, e => e.Op == TraceOp.PtWrite);
        Assert.Throws<InvalidOperationException>(() => _host.Run(1, p));
    }

    [Fact]
    public void An_address_outside_user_space_or_an_access_with_no_process_is_refused()
    {
        int p = _host.CreateProcess();
        Assert.Throws<InvalidOperationException>(() => _host.Access(0, TraceOp.Read, 0x1000, 8));
        _host.Run(0, p);
        Assert.Throws<ArgumentOutOfRangeException>(() => _host.Access(0, TraceOp.Read, UserSpace.Top - 4, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => _host.Access(0, TraceOp.Read, 0xFFFF_8880_0000_0000, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => _host.Access(2, TraceOp.Read, 0x1000, 8));
    }

    [Fact]
    public void Retired_instructions_ride_on_the_next_event_of_the_processs_vcpu()
    {
        // b runs on vCPU 1 with its page mapped; 12 instructions retired there go on its next access, not on a's
        // on vCPU 0, and a second access carries none.
        int a = _host.CreateProcess();
        int b = _host.CreateProcess();
        _host.Run(0, a);
        _host.Access(0, TraceOp.Read, 0x1000, 8);
        _host.Run(1, b);
        _host.Access(1, TraceOp.Read, 0x1000, 8);
        Take();
        _host.Retire(1, 12);
        _host.Access(0, TraceOp.Read, 0x1000, 8);
        _host.Access(1, TraceOp.Read, 0x1000, 8);
        _host.Access(1, TraceOp.Read, 0x1000, 8);

        Assert.Equal([(0, 0u), (1, 12u), (1, 0u)], Take().Select(e => (e.Vcpu, e.Insns)));
        Assert.Equal(0, _host.PendingInstructions);
    }

    [Fact]
    public void Retiring_on_a_vcpu_with_no_process_or_a_negative_count_is_refused()
    {
        int p = _host.CreateProcess();
        Assert.Throws<InvalidOperationException>(() => _host.Retire(1, 1));
        _host.Run(1, p);
        Assert.Throws<ArgumentOutOfRangeException>(() => _host.Retire(1, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _host.Retire(2, 1));
    }

    private List<(TraceOp Op, ulong Va, int Vcpu, uint Insns)> Take()
    {
        _host.Complete();
        var taken = _events.ToList();
        _events.Clear();
        return taken;
    }

    private void Collect(EventBatch b)
    {
        for (int i = 0; i < b.Count; i++)
        {
            _events.Add(((TraceOp)b.Op[i], b.Va[i], b.Vcpu[i], b.Insns[i]));
        }
    }
}
