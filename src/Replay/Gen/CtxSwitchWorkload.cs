using Replay.Engines.Trace;

namespace Replay.Gen;

/// <summary>
/// Two processes ping-pong on one vCPU (a pipe ping-pong such as lmbench's lat_ctx): each slice enters the
/// kernel (global direct-map accesses), loads the other process's CR3 and runs a burst of user accesses over
/// a small code, heap and stack working set, demand-faulting pages on first touch. The context-switch cost
/// of each MMU strategy dominates.
/// </summary>
internal static class CtxSwitchWorkload
{
    private const ulong Code = 0x40_0000;
    private const ulong Heap = 0x1000_0000;
    private const ulong Stack = 0x7FFF_FFFF_0000;
    private const int CodePages = 4;
    private const int HeapPages = 48;
    private const int StackPages = 2;
    private const int Slice = 200;

    public static readonly Workload Definition = new(
        "ctxswitch",
        "Two processes ping-pong on one vCPU (lmbench lat_ctx-like): a CR3 load every 200 accesses, small working sets.",
        new Dictionary<ulong, string> { [1] = "warmup", [2] = "steady" },
        Generate);

    private static void Generate(GuestBuilder g, Random rng, long events)
    {
        g.MapKernel(8);
        ulong[] roots = [g.NewAddressSpace(initial: true), g.NewAddressSpace(initial: true)];
        g.Mark(1);
        int slice = 0;
        while (g.Events < events)
        {
            if (slice == 4)
            {
                g.Mark(2);
            }

            int p = slice & 1;
            for (int k = 0; k < 8; k++)
            {
                g.Access(0, GuestBuilder.KernelBase + ((ulong)rng.Next(8 * 512) << 12), TraceOp.Read, user: false);
            }

            g.Cr3(0, roots[p]);
            for (int i = 0; i < Slice && g.Events < events; i++)
            {
                int r = rng.Next(100);
                (ulong va, TraceOp op, ulong flags) = r switch
                {
                    < 25 => (Code + ((ulong)rng.Next(CodePages) << 12), TraceOp.Fetch, GuestBuilder.UserCode),
                    < 35 => (Stack + ((ulong)rng.Next(StackPages) << 12), TraceOp.Write, GuestBuilder.UserData),
                    < 75 => (Heap + ((ulong)rng.Next(HeapPages) << 12), TraceOp.Read, GuestBuilder.UserData),
                    _ => (Heap + ((ulong)rng.Next(HeapPages) << 12), TraceOp.Write, GuestBuilder.UserData),
                };
                Touch(g, roots[p], va + (ulong)rng.Next(512) * 8, op, flags);
            }

            slice++;
        }
    }

    /// <summary>An access, demand-faulting the page first if it is not mapped (fault, ptwrites, retry).</summary>
    internal static void Touch(GuestBuilder g, ulong root, ulong va, TraceOp op, ulong flags, int vcpu = 0)
    {
        if (!g.IsMapped(root, va))
        {
            g.Access(vcpu, va, op);
            g.Map(vcpu, root, va, g.AllocFrame(), flags);
        }

        g.Access(vcpu, va, op);
    }
}
