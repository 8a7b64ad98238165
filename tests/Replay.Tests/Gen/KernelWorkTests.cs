using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

/// <summary>
/// The kernel's own work (<see cref="KernelCosts"/>): each path retires its instructions through
/// <see cref="GuestKernel.Retire"/> once its events are out, so they ride as <c>insns</c> on the next event of that
/// vCPU; <see cref="GuestKernel.KernelInstructions"/> sums them. Costs are <see cref="KernelCosts.Linux"/>: Syscall 500,
/// Switch 13,400, Fork 128,000 + 150 per leaf copied, Exit 63,000 + 120 per leaf zapped.
/// </summary>
public sealed class KernelWorkTests
{
    private const ulong X = 0x1000_0000;
    private const ulong Text = 0x40_0000;
    private static readonly KernelCosts C = KernelCosts.Linux;

    private readonly KernelHarness _h = new(kernelWork: true);

    private static List<(TraceOp Op, long Insns)> Insns(List<Ev> ev) => ev.Select(e => (e.Op, (long)e.Insns)).ToList();

    [Fact]
    public void Fork_syscall_switch_and_exit_each_retire_their_path_on_the_next_event_of_the_vcpu()
    {
        var k = _h.Kernel;
        var parent = k.CreateProcess(); // its kernel entry loads init_mm's CR3 first: no switch is retired for that

        // A real switch: the scheduler's work, then the CR3 load carries it.
        Assert.Equal([(TraceOp.Cr3, C.Switch)], Insns(_h.Take(() => k.Run(0, parent))));
        long expected = C.Switch;

        // Two data pages and one text page: the faults' own events carry nothing (the fault is priced whole).
        Assert.All(_h.Take(() =>
        {
            k.Access(0, TraceOp.Write, new Gva(X));
            k.Access(0, TraceOp.Write, new Gva(X + 0x1000));
            k.Access(0, TraceOp.Fetch, new Gva(Text));
        }), e => Assert.Equal(0u, e.Insns));

        // fork copies the two data leaves (each write-protected in the parent first: two SoftCow ptwrites per leaf) and
        // not the text leaf (lazy fork). Its events carry nothing; the work, 128,000 + 2 × 150 = 128,300, goes on the
        // parent's next event, a read of X (still readable: one event).
        Process child = null!;
        var fork = _h.Take(() => child = k.Fork(0, parent));
        Assert.All(fork, e => Assert.Equal(0u, e.Insns));
        Assert.Equal(2 * 2, fork.Count(e => e.Op == TraceOp.PtWrite && (e.Value & GuestKernel.SoftCow) != 0));
        int copied = new[] { X, X + 0x1000, Text }.Count(va => k.FrameOf(child, new Gva(va)) is not null);
        Assert.Equal(2, copied);
        Assert.Equal([(TraceOp.Read, C.Fork + (copied * C.ForkPerEntry))], Insns(_h.Take(() => k.Access(0, TraceOp.Read, new Gva(X)))));
        Assert.Equal(128_300, C.Fork + (copied * C.ForkPerEntry));
        expected += C.Fork + (copied * C.ForkPerEntry);

        // A system call: 500 on the next event.
        Assert.Equal([(TraceOp.Read, C.Syscall)], Insns(_h.Take(() =>
        {
            k.Syscall(0);
            k.Access(0, TraceOp.Read, new Gva(X));
        })));
        expected += C.Syscall;

        // Run of the process already current: no switch, nothing retired.
        Assert.Equal([(TraceOp.Read, 0L)], Insns(_h.Take(() =>
        {
            k.Run(0, parent);
            k.Access(0, TraceOp.Read, new Gva(X));
        })));

        // A real switch to the child: 13,400 on its CR3 load.
        Assert.Equal([(TraceOp.Cr3, C.Switch)], Insns(_h.Take(() => k.Run(0, child))));
        expected += C.Switch;

        // The child exits while current: its 2 leaves zapped (ptwrites), its tables freed (ptwrites), then the work,
        // 63,000 + 2 × 120 = 63,240, rides on the flush of its TLB; the CR3 load of init_mm carries nothing.
        var exit = _h.Take(() => k.Exit(child));
        Assert.Equal(TraceOp.Flush, exit[^2].Op);
        Assert.Equal(C.Exit + (2 * C.ExitPerEntry), exit[^2].Insns);
        Assert.Equal(63_240u, exit[^2].Insns);
        Assert.All(exit.Where(e => e.Op != TraceOp.Flush), e => Assert.Equal(0u, e.Insns));
        expected += C.Exit + (2 * C.ExitPerEntry);

        // The parent exits from no vCPU (vCPU 0 now idles in init_mm): 3 leaves zapped, the text leaf too; no event of
        // its own carries the work, 63,000 + 3 × 120 = 63,360, so it waits for vCPU 0's next event.
        Assert.All(_h.Take(() => k.Exit(parent)), e => Assert.Equal(0u, e.Insns));
        Assert.Equal(C.Exit + (3 * C.ExitPerEntry), k.PendingInstructions);
        expected += C.Exit + (3 * C.ExitPerEntry);

        // 13,400 + 128,300 + 500 + 13,400 + 63,240 + 63,360 = 282,200.
        Assert.Equal(282_200, expected);
        Assert.Equal(expected, k.KernelInstructions);
    }

    [Fact]
    public void Without_kernel_work_no_path_retires_anything()
    {
        var h = new KernelHarness();
        var k = h.Kernel;
        var p = k.CreateProcess();
        k.Run(0, p);
        k.Access(0, TraceOp.Write, new Gva(X));
        var child = k.Fork(0, p);
        k.Syscall(0);
        k.Run(0, child);
        k.Exit(child);
        k.Exit(p);
        k.Complete();
        Assert.Equal(0, k.KernelInstructions);
        Assert.All(h.Events, e => Assert.Equal(0u, e.Insns));
    }
}
