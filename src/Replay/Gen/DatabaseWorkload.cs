using Replay.Engines.Trace;
using Replay.Gen.Kernel;
using Replay.Gen.Model;

namespace Replay.Gen;

/// <summary>
/// An in-memory database serving point lookups (SQLite with its page cache holding a 256 MiB table, or a key-value
/// store): one process, a thread per vCPU; the buffer pool is faulted in during warm-up, then each lookup descends a
/// B-tree (inner pages hot, a leaf drawn uniformly from the pool) and reads its row. Few switches and no faults in the
/// steady state; its TLB misses come from the pool. Per-lookup instructions and TLB misses are measured on a real
/// SQLite run (traces/README.md, "Calibration").
/// </summary>
internal static class DatabaseWorkload
{
    /// <summary>The buffer pool: 256 MiB (at most a quarter of guest memory).</summary>
    private const int PoolPages = 65_536;

    /// <summary>Text and hot data of the engine (measured resident text and heap outside the pool).</summary>
    private static readonly ImageSpec Image = new(TextPages: 300, DataPages: 64, HeapPages: PoolPages, StackPages: 8);

    /// <summary>Instructions per lookup and the lookup's listed accesses: inner B-tree pages (hot) and leaf pages (cold).</summary>
    private const long InsnsPerLookup = 6_000;
    private const int InnerPages = 256;
    private const int LeavesPerLookup = 1;
    private const int HotTouchesPerLookup = 6;

    /// <summary>Lookups between the background writer's slices (a checkpoint thread waking now and then).</summary>
    private const int LookupsPerSlice = 4_000;

    private const int Program = 4;

    public static readonly Workload Definition = new(
        "database",
        "An in-memory database serving point lookups (SQLite, a key-value store): a 256 MiB buffer pool, a leaf drawn at random per lookup, few switches; TLB-miss heavy.",
        new Dictionary<ulong, string> { [1] = "warmup", [2] = "steady" },
        Generate);

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        int vcpus = k.Options.Vcpus;
        int pool = (int)Math.Min(PoolPages, k.Options.MemoryBytes / 4 / 4096);
        var image = Image with { HeapPages = pool };
        var db = new ProcessModel(k.CreateProcess(program: Program), image);
        var writer = new ProcessModel(k.CreateProcess(program: Program + 1), new ImageSpec(64, 16, 64, 2));
        k.Mark(1);
        k.Run(0, db.Process);
        db.Populate(k, 0, db.Text, image.TextPages, TraceOp.Fetch, rng);
        db.Populate(k, 0, db.Data, image.DataPages, TraceOp.Write, rng);
        db.Populate(k, 0, db.Stack, image.StackPages, TraceOp.Write, rng);
        db.Populate(k, 0, db.Heap, pool, TraceOp.Write, rng);
        for (int v = 1; v < vcpus; v++)
        {
            k.Run(v, db.Process);
        }

        k.Mark(2);
        var lookup = new AccessMix { InsnsPerAccess = 0, Fetch = 0.3, Write = 0.1, Hot = 64 };
        for (long slice = 0; k.Events < events; slice++)
        {
            int v = (int)(slice % vcpus);
            k.Run(v, db.Process);
            for (int n = 0; n < LookupsPerSlice && k.Events < events; n++)
            {
                k.Syscall(v); // the request arrives
                long per = InsnsPerLookup / (HotTouchesPerLookup + 1 + LeavesPerLookup);
                for (int i = 0; i < HotTouchesPerLookup; i++)
                {
                    k.Retire(v, per);
                    db.Step(k, v, lookup, rng);
                }

                k.Retire(v, per);
                db.Touch(k, v, TraceOp.Read, db.Heap.Page(rng.Next(InnerPages)), rng);
                for (int i = 0; i < LeavesPerLookup; i++)
                {
                    k.Retire(v, per);
                    db.Touch(k, v, TraceOp.Read, db.Heap.Page(rng.Next(pool)), rng);
                }
            }

            if (slice % 8 == 7)
            {
                k.Run(v, writer.Process);
                writer.Work(k, v, 200_000, new AccessMix { InsnsPerAccess = 200, Fetch = 0.3, Grow = 0.05, Cold = 0.2 }, rng);
            }
        }
    }
}
