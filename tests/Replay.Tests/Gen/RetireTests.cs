using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

/// <summary>
/// <see cref="GuestKernel.Retire"/>: retired instructions ride as <c>insns</c> on the next non-mark event of their
/// vCPU, spill over following events past uint32 max, and stay pending (never dropped) across <see cref="GuestKernel.Complete"/>.
/// </summary>
public sealed class RetireTests
{
    private readonly KernelHarness _h = new(new KernelOptions { Vcpus = 2 });
    private readonly Process _a;
    private readonly Process _b;

    public RetireTests()
    {
        // a on vCPU 0 and b on vCPU 1, each with page 0x1000 mapped, so an access there is one event.
        var k = _h.Kernel;
        _a = k.CreateProcess();
        _b = k.CreateProcess();
        _h.Take(() =>
        {
            k.Run(0, _a);
            k.Access(0, TraceOp.Read, new Gva(0x1000));
            k.Run(1, _b);
            k.Access(1, TraceOp.Read, new Gva(0x1000));
        });
    }

    [Fact]
    public void Instructions_go_on_the_next_event_of_their_own_vcpu()
    {
        var k = _h.Kernel;
        var ev = _h.Take(() =>
        {
            k.Retire(0, 5);
            k.Retire(1, 9);
            k.Access(1, TraceOp.Read, new Gva(0x1000));
            k.Access(0, TraceOp.Read, new Gva(0x1008));
            k.Access(0, TraceOp.Read, new Gva(0x1010));
        });

        Assert.Equal([(TraceOp.Read, 1, 9u), (TraceOp.Read, 0, 5u), (TraceOp.Read, 0, 0u)], ev.Select(e => (e.Op, e.Vcpu, e.Insns)));
        Assert.Equal(0, k.PendingInstructions);
    }

    [Fact]
    public void Retires_add_up_and_any_op_carries_them()
    {
        // 3 + 4 on vCPU 0, then a first touch of page 0x5000: the faulting read carries 7; the kernel's
        // page-table writes and the retried read that follow carry nothing.
        var k = _h.Kernel;
        var ev = _h.Take(() =>
        {
            k.Retire(0, 3);
            k.Retire(0, 4);
            k.Access(0, TraceOp.Read, new Gva(0x5000));
        });

        Assert.Equal("read ptwrite read", KernelHarness.Ops(ev));
        Assert.Equal([7u, 0u, 0u], ev.Select(e => e.Insns));
    }

    [Fact]
    public void A_mark_does_not_take_them()
    {
        var k = _h.Kernel;
        var ev = _h.Take(() =>
        {
            k.Retire(0, 11);
            k.Mark(1);
            k.Access(0, TraceOp.Read, new Gva(0x1000));
        });

        Assert.Equal([(TraceOp.Mark, 0u), (TraceOp.Read, 11u)], ev.Select(e => (e.Op, e.Insns)));
    }

    [Fact]
    public void More_than_uint32_max_spills_over_the_vcpus_following_events()
    {
        // 2 × 4,294,967,295 + 10 = 8,589,934,600 on vCPU 0: its next three events carry 4,294,967,295,
        // 4,294,967,295 and 10, the fourth nothing; vCPU 1's event in between carries nothing either.
        var k = _h.Kernel;
        k.Retire(0, (2L * uint.MaxValue) + 10);
        Assert.Equal(8_589_934_600L, k.PendingInstructions);
        var ev = _h.Take(() =>
        {
            k.Access(0, TraceOp.Read, new Gva(0x1000));
            k.Access(1, TraceOp.Read, new Gva(0x1000));
            k.Access(0, TraceOp.Read, new Gva(0x1000));
            k.Access(0, TraceOp.Read, new Gva(0x1000));
            k.Access(0, TraceOp.Read, new Gva(0x1000));
        });

        Assert.Equal([(0, uint.MaxValue), (1, 0u), (0, uint.MaxValue), (0, 10u), (0, 0u)], ev.Select(e => (e.Vcpu, e.Insns)));
        Assert.Equal(0, k.PendingInstructions);
    }

    [Fact]
    public void Complete_keeps_pending_instructions_for_a_later_event_and_reports_them()
    {
        var k = _h.Kernel;
        k.Retire(1, 6);
        k.Complete();
        Assert.Equal(6, k.PendingInstructions);

        var ev = _h.Take(() => k.Access(1, TraceOp.Read, new Gva(0x1000)));

        Assert.Equal(6u, Assert.Single(ev).Insns);
        Assert.Equal(0, k.PendingInstructions);
    }

    [Fact]
    public void A_negative_count_or_a_vcpu_out_of_range_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _h.Kernel.Retire(0, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _h.Kernel.Retire(2, 1));
        Assert.Equal(0, _h.Kernel.PendingInstructions);
    }
}
