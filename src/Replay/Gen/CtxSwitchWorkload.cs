using Replay.Engines.Trace;
using Replay.Kernel;
using Replay.Gen.Model;

namespace Replay.Gen;

/// <summary>
/// lmbench's <c>lat_ctx</c> with no working set (a pipe ping-pong): two processes per vCPU pass a token through two
/// pipes, so every round trip is two writes, two reads and two context switches, with almost no user work between
/// them. Per-round-trip instructions and switches are measured on a real ping-pong (traces/README.md, "Calibration").
/// </summary>
internal static class CtxSwitchWorkload
{
    private static readonly ImageSpec Image = new(TextPages: 8, DataPages: 4, HeapPages: 4, StackPages: 2);

    /// <summary>Measured per process per round trip (cachegrind): 31 user instructions between its read and its write.</summary>
    private const long UserPerTurn = 31;

    private const int Program = 30;

    private static readonly AccessMix Touch = new() { InsnsPerAccess = 0, Fetch = 0.5, Write = 0.3, Hot = 8 };

    public static readonly Workload Definition = new(
        "ctxswitch",
        "lmbench lat_ctx (a pipe ping-pong, no working set): two processes per vCPU, a write, a read and a context switch per turn.",
        new Dictionary<ulong, string> { [1] = "warmup", [2] = "steady" },
        Generate);

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        int vcpus = k.Options.Vcpus;
        k.Mark(1);
        var pairs = new ProcessModel[vcpus, 2];
        for (int v = 0; v < vcpus; v++)
        {
            for (int i = 0; i < 2; i++)
            {
                var p = new ProcessModel(k.CreateProcess(v, Program), Image);
                k.Run(v, p.Process);
                p.Populate(k, v, p.Text, Image.TextPages, TraceOp.Fetch, rng);
                p.Populate(k, v, p.Data, Image.DataPages, TraceOp.Write, rng);
                p.Populate(k, v, p.Stack, Image.StackPages, TraceOp.Write, rng);
                pairs[v, i] = p;
            }
        }

        k.Mark(2);
        for (long turn = 0; k.Events < events; turn++)
        {
            int v = (int)(turn % vcpus);
            var p = pairs[v, (int)(turn / vcpus % 2)];
            k.Run(v, p.Process); // the read returns on the other side's write: a switch
            k.Syscall(v);        // read
            k.Retire(v, UserPerTurn);
            p.Step(k, v, Touch, rng);
            p.Step(k, v, Touch, rng);
            k.Syscall(v);        // write, then block in the next read
        }
    }
}
