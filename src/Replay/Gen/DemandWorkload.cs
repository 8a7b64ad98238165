using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Gen;

/// <summary>
/// One process (a thread per vCPU) repeatedly maps a region, touches it (a demand fault per page) and unmaps it:
/// each leaf written to zero, the emptied page table unlinked and freed (no other mapping shares it), then INVLPG per
/// page from the table's first page or one flush past 33 pages (Linux's <c>tlb_single_page_flush_ceiling</c>), on
/// every vCPU the process runs on. Every eighth region is a 2 MiB-aligned
/// 512-page region, a large malloc chunk: its header written first, then touched sparsely, half the touches reads
/// (which map the zero page where they come first; one fault in all with <c>--thp</c>). Stands for allocator churn (malloc arenas,
/// short-lived buffers): guest page faults and invalidations dominate. The user work per touched page (7.4
/// instructions: a region of 32.4 pages on average takes 240) is measured on a real mmap/touch/munmap loop
/// (traces/README.md, "Calibration"); the kernel's mmap and munmap are system calls of the kernel model.
/// </summary>
internal static class DemandWorkload
{
    private const ulong RegionBase = 0x2000_0000;
    private const ulong HugeBase = 0x4000_0000;

    /// <summary>Measured user instructions per touched page of a region (cachegrind: 240 per region of 32.4 pages).</summary>
    private const double UserPerPage = 7.4;

    public static readonly Workload Definition = new(
        "demand",
        "Allocator churn (malloc arenas, short-lived buffers): map 1-64 pages or a 2 MiB region, touch them, munmap with INVLPG or a flush past 33 pages.",
        new Dictionary<ulong, string> { [1] = "mmap", [2] = "munmap" },
        Generate);

    private static ulong Page(ulong baseVa, int page) => baseVa + ((ulong)page << Pte.PageShift);

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        var p = k.CreateProcess();
        int vcpus = k.Options.Vcpus;
        for (int v = 0; v < vcpus; v++)
        {
            k.Run(v, p);
        }

        for (long region = 0; k.Events < events; region++)
        {
            int v = (int)(region % vcpus);
            k.Mark(1);
            bool huge = region % 8 == 7;
            ulong baseVa = huge ? HugeBase + ((ulong)(region % 4) << Pte.LargePageShift) : RegionBase + ((ulong)(region % 16) << 20);
            int pages = huge ? Pte.PagesPerLargePage : rng.Next(1, 65);
            k.Syscall(v); // mmap
            if (huge)
            {
                // malloc's mmap'd chunk: its header is written first (one 2 MiB fault with --thp), then sparse touches.
                k.Access(v, TraceOp.Write, new Gva(baseVa));
                for (int i = 1; i < 64; i++)
                {
                    k.Access(v, rng.Next(2) == 0 ? TraceOp.Read : TraceOp.Write, new Gva(Page(baseVa, rng.Next(Pte.PagesPerLargePage))));
                }
            }
            else
            {
                for (int i = 0; i < pages; i++)
                {
                    k.Retire(v, (long)UserPerPage);
                    k.Access(v, TraceOp.Write, new Gva(Page(baseVa, i)));
                }

            }

            k.Mark(2);
            k.Munmap(v, new Gva(baseVa), pages);
        }
    }
}
