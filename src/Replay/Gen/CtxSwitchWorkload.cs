using Replay.Gen.Kernel;

namespace Replay.Gen;

/// <summary>
/// Two processes ping-pong on each vCPU (a pipe ping-pong such as lmbench's lat_ctx): each slice enters the
/// kernel (direct-map accesses), switches to the other process and runs a burst of user accesses over a small
/// code, heap and stack working set, demand-faulting pages on first touch. Context-switch cost dominates.
/// </summary>
internal static class CtxSwitchWorkload
{
    private const int Slice = 200;
    private static readonly Layout Image = new(CodePages: 4, HeapPages: 48, StackPages: 2);

    public static readonly Workload Definition = new(
        "ctxswitch",
        "Two processes ping-pong on each vCPU (lmbench lat_ctx, a pipe ping-pong): a context switch every 200 accesses, small working sets.",
        new Dictionary<ulong, string> { [1] = "warmup", [2] = "steady" },
        Generate);

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        int vcpus = k.Options.Vcpus;
        k.Mark(1);
        var sched = new Scheduler(k);
        for (int v = 0; v < vcpus; v++)
        {
            sched.Add(v, k.CreateProcess(v));
            sched.Add(v, k.CreateProcess(v));
        }

        for (long slice = 0; k.Events < events; slice++)
        {
            if (slice == 4L * vcpus)
            {
                k.Mark(2);
            }

            int v = (int)(slice % vcpus);
            Layout.Kernel(k, v, rng, 8);
            sched.Next(v);
            for (int i = 0; i < Slice && k.Events < events; i++)
            {
                Image.Step(k, v, rng);
            }
        }
    }
}
