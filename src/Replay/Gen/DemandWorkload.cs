using Replay.Engines.Trace;

namespace Replay.Gen;

/// <summary>
/// One process repeatedly maps a region (1–64 pages, every eighth a 2 MiB transparent huge page), touches it
/// (a demand fault per page), then unmaps it: each leaf written to zero, then an INVLPG per page, or one
/// flush when more than 33 pages go (Linux's <c>tlb_single_page_flush_ceiling</c>). Stands for allocator
/// churn (malloc arenas, short-lived buffers): guest page faults and invalidations dominate.
/// </summary>
internal static class DemandWorkload
{
    private const ulong RegionBase = 0x2000_0000;
    private const ulong HugeBase = 0x4000_0000;

    public static readonly Workload Definition = new(
        "demand",
        "Demand paging with munmap: map 1-64 pages (or a 2 MiB huge page), touch them, unmap with INVLPG or a flush past 33 pages.",
        new Dictionary<ulong, string> { [1] = "mmap", [2] = "munmap" },
        Generate);

    private static void Generate(GuestBuilder g, Random rng, long events)
    {
        g.MapKernel(4);
        ulong root = g.NewAddressSpace(initial: true);
        g.Cr3(0, root);
        long region = 0;
        while (g.Events < events)
        {
            g.Mark(1);
            bool huge = region % 8 == 7;
            ulong baseVa = huge ? HugeBase + ((ulong)(region % 4) << 21) : RegionBase + ((ulong)(region % 16) << 20);
            int pages = huge ? 512 : rng.Next(1, 65);
            if (huge)
            {
                ulong frame = 0x8_0000UL + ((ulong)(region % 4) << 9); // 2 MiB-aligned guest-physical block
                g.Access(0, baseVa, TraceOp.Write);
                g.Map(0, root, baseVa, frame, GuestBuilder.UserData, leafLevel: 2);
                g.Access(0, baseVa, TraceOp.Write);
                for (int i = 0; i < 64; i++)
                {
                    g.Access(0, baseVa + ((ulong)rng.Next(512) << 12), rng.Next(2) == 0 ? TraceOp.Read : TraceOp.Write);
                }
            }
            else
            {
                for (int i = 0; i < pages; i++)
                {
                    CtxSwitchWorkload.Touch(g, root, baseVa + ((ulong)i << 12), TraceOp.Write, GuestBuilder.UserData);
                }

                for (int i = 0; i < pages * 2; i++)
                {
                    g.Access(0, baseVa + ((ulong)rng.Next(pages) << 12) + 8, TraceOp.Read);
                }
            }

            g.Mark(2);
            if (huge)
            {
                g.Unmap(0, root, baseVa, leafLevel: 2);
                g.Invlpg(0, baseVa);
            }
            else
            {
                for (int i = 0; i < pages; i++)
                {
                    if (g.Unmap(0, root, baseVa + ((ulong)i << 12)) is { } frame)
                    {
                        g.FreeFrame(frame);
                    }
                }

                if (pages > GuestBuilder.FlushCeiling)
                {
                    g.Flush(0);
                }
                else
                {
                    for (int i = 0; i < pages; i++)
                    {
                        g.Invlpg(0, baseVa + ((ulong)i << 12));
                    }
                }
            }

            region++;
        }
    }
}
