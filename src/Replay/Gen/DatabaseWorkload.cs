using Replay.Engines.Trace;
using Replay.Gen.Kernel;

namespace Replay.Gen;

/// <summary>
/// An in-memory database (a buffer pool such as PostgreSQL's shared buffers or a key-value store): one process
/// with a thread per vCPU accesses a large buffer pool (up to 256 MiB, a quarter of guest memory at most)
/// uniformly at random, so nearly every access misses the TLB; a background writer process gets a slice now
/// and then (few switches); temporary sort buffers are unmapped from time to time, a shootdown to every vCPU.
/// </summary>
internal static class DatabaseWorkload
{
    private const int Slice = 20_000;
    private const ulong Pool = 0x1_0000_0000;
    private static readonly Layout Writer = new(CodePages: 16, HeapPages: 32, StackPages: 2);

    public static readonly Workload Definition = new(
        "database",
        "An in-memory database (buffer pool, key-value store): a large working set hit at random by a thread per vCPU, few switches, TLB-miss heavy.",
        new Dictionary<ulong, string> { [1] = "warmup", [2] = "steady" },
        Generate);

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        int vcpus = k.Options.Vcpus;
        int poolPages = (int)Math.Min(65_536UL, k.Options.MemoryBytes / 4 / 4096);
        var db = k.CreateProcess();
        var writer = k.CreateProcess();
        k.Mark(1);
        bool steady = false;
        for (long slice = 0; k.Events < events; slice++)
        {
            int v = (int)(slice % vcpus);
            if (!steady && k.Events > events / 3)
            {
                k.Mark(2);
                steady = true;
            }

            if (slice % (4 * vcpus) == 4 * vcpus - 1)
            {
                k.Run(v, writer);
                for (int i = 0; i < 500; i++)
                {
                    Writer.Step(k, v, rng);
                }
            }

            Layout.Kernel(k, v, rng, 16);
            k.Run(v, db);
            for (int i = 0; i < Slice && k.Events < events; i++)
            {
                int r = rng.Next(100);
                if (r < 10)
                {
                    k.Access(v, TraceOp.Fetch, Layout.Page(Layout.Code, rng.Next(64)));
                    continue;
                }

                ulong va = Layout.Page(Pool, rng.Next(poolPages)) + ((ulong)rng.Next(512) * 8);
                k.Access(v, r < 80 ? TraceOp.Read : TraceOp.Write, va);
            }

            ulong sort = Layout.Page(Layout.Mmap, (int)(slice % 8) * 64);
            int pages = rng.Next(8, 48);
            for (int i = 0; i < pages; i++)
            {
                k.Access(v, TraceOp.Write, Layout.Page(sort, i));
            }

            k.Munmap(v, sort, pages);
        }
    }
}
