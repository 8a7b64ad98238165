using Replay.Engines.Trace;
using Replay.Gen;
using Replay.Import;

namespace Replay.Tests.Import;

/// <summary>The GuestBuilder-backed host: demand paging, page-crossing accesses, context switches (SPEC §1 rules).</summary>
public sealed class BuilderProcessHostTests
{
    private readonly List<(TraceOp Op, ulong Va, int Vcpu)> _events = [];
    private readonly BuilderProcessHost _host;

    public BuilderProcessHostTests()
    {
        var guest = new GuestBuilder(Collect, vcpus: 2);
        _host = new BuilderProcessHost(guest);
    }

    [Fact]
    public void A_first_touch_faults_then_maps_then_retries_and_a_second_touch_just_accesses()
    {
        int p = _host.CreateProcess();
        _host.Run(0, p);
        _host.Access(0, TraceOp.Read, 0x1234, 4);
        _host.Access(0, TraceOp.Write, 0x1ff0, 8);
        // ptinit of the kernel-half PML4 entry; CR3; the faulting read; PML4, PDPT, PD entries and the leaf;
        // the retried read; then the write to the same page, which is mapped: one event.
        Assert.Equal(
            [TraceOp.PtInit, TraceOp.Cr3, TraceOp.Read, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.Read, TraceOp.Write],
            Ops());
    }

    [Fact]
    public void An_access_crossing_a_page_boundary_touches_both_pages()
    {
        int p = _host.CreateProcess();
        _host.Run(0, p);
        _host.Access(0, TraceOp.Read, 0x1ffc, 8);
        // Page 0x1000: fault, 4 ptwrites (all tables new), retry at 0x1ffc. Page 0x2000: fault, 1 ptwrite
        // (same page table), retry at the page start.
        Assert.Equal(
            [TraceOp.PtInit, TraceOp.Cr3,
             TraceOp.Read, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.PtWrite, TraceOp.Read,
             TraceOp.Read, TraceOp.PtWrite, TraceOp.Read],
            Ops());
        Assert.Equal([0x1ffcUL, 0x1ffcUL, 0x2000UL, 0x2000UL], _events.Where(e => e.Op == TraceOp.Read).Select(e => e.Va));
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
        _host.Complete();
        Assert.Equal(3, _events.Count(e => e.Op == TraceOp.Cr3));
        Assert.Equal(2 + 2 + 1, _events.Count(e => e.Op == TraceOp.Fetch));
        Assert.Equal(1, _events.Count(e => e.Op == TraceOp.Fetch && e.Vcpu == 1));
    }

    [Fact]
    public void An_address_outside_user_space_or_an_access_with_no_process_is_refused()
    {
        int p = _host.CreateProcess();
        Assert.Throws<InvalidOperationException>(() => _host.Access(0, TraceOp.Read, 0x1000, 8));
        _host.Run(0, p);
        Assert.Throws<ArgumentOutOfRangeException>(() => _host.Access(0, TraceOp.Read, UserSpace.Top - 4, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => _host.Access(0, TraceOp.Read, 0xFFFF_8880_0000_0000, 8));
        _host.Exit(p);
        Assert.Throws<InvalidOperationException>(() => _host.Run(1, p));
    }

    private List<TraceOp> Ops()
    {
        _host.Complete();
        return _events.Select(e => e.Op).ToList();
    }

    private void Collect(EventBatch b)
    {
        for (int i = 0; i < b.Count; i++)
        {
            _events.Add(((TraceOp)b.Op[i], b.Va[i], b.Vcpu[i]));
        }
    }
}
