using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Gen.Model;
using Replay.Kernel;

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
    /// <summary>The buffer pool: SQLite's page cache holding the measured 247 MiB table (63,345 pages of 4 KiB).</summary>
    private const int PoolPages = 63_345;

    /// <summary>The engine's text and its own data besides the pool.</summary>
    private static readonly ImageSpec Image = new(TextPages: 300, DataPages: 64, HeapPages: PoolPages, StackPages: 8);

    /// <summary>
    /// One measured lookup (SQLite point query by rowid, cachegrind, the difference of 200k lookups and a loop without
    /// them): 2,590 instructions, 5.3 STLB misses with Skylake's STLB and 7.8 with Nehalem's. Listed: pages drawn
    /// uniformly from the pool (the leaf, its page-cache header and hash bucket: misses in both), pages of a warm set (the
    /// interior B-tree pages and the cache's hot metadata: a 1,536-entry STLB holds them, a 512-entry one does not), and
    /// hot pages (the engine's code and stack).
    /// </summary>
    private const long InsnsPerLookup = 2_590;
    private const int ColdPerLookup = 4;
    private const int WarmPerLookup = 6;
    private const int WarmPages = 900;
    private const int HotPerLookup = 6;

    /// <summary>Lookups between two slices of the background checkpointer (a rare switch: 21 per 2 M lookups measured).</summary>
    private const int LookupsPerSlice = 50_000;

    private const int Program = 4;

    public static readonly Workload Definition = new(
        "database",
        "An in-memory database serving point lookups (SQLite, a key-value store): a 247 MiB table in its page cache, leaves drawn at random per lookup, no faults or switches once warm; TLB-miss heavy.",
        new Dictionary<ulong, string> { [1] = "warmup", [2] = "steady" },
        Generate)
    {
        // Measured per lookup (cachegrind, 32 KiB 8-way L1D, 8 MiB 16-way LL): 31.8 L1D and 11.9 LL misses over
        // 2,590 instructions, over the 247 MiB table.
        Pressure = new(L1dMissesPerKiloInsn: 12.3, LlcMissesPerKiloInsn: 4.6, FootprintBytes: (ulong)PoolPages << Pte.PageShift),
    };

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        int vcpus = k.Options.Vcpus;
        // At most a quarter of guest memory, and of the requested events (so a short trace is not all warm-up).
        int pool = (int)Math.Max(64, Math.Min(Math.Min(PoolPages, k.Options.MemoryBytes / 4 / Pte.PageSize), (ulong)(events / 4)));
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
        var hot = new AccessMix { InsnsPerAccess = 0, Fetch = 0.5, Write = 0.1, Hot = 32 };
        int parts = ColdPerLookup + WarmPerLookup + HotPerLookup;
        for (long slice = 0; k.Events < events; slice++)
        {
            int v = (int)(slice % vcpus);
            k.Run(v, db.Process);
            for (int n = 0; n < LookupsPerSlice && k.Events < events; n++)
            {
                long per = InsnsPerLookup / parts;
                for (int i = 0; i < HotPerLookup; i++)
                {
                    k.Retire(v, per);
                    db.Step(k, v, hot, rng);
                }

                for (int i = 0; i < WarmPerLookup; i++)
                {
                    k.Retire(v, per);
                    db.Touch(k, v, TraceOp.Read, db.Heap.Page(rng.Next(Math.Min(WarmPages, pool))), rng);
                }

                for (int i = 0; i < ColdPerLookup; i++)
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
