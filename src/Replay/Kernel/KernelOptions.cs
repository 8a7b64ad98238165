using Replay.Engines.Paging;

namespace Replay.Kernel;

/// <summary>
/// How the guest kernel is configured. Every option that a trace's metadata records (vCPUs, memory, paging
/// levels, PCID) must be written to the trace as the kernel was run with it.
/// </summary>
public sealed record KernelOptions
{
    /// <summary>Number of vCPUs (1–64).</summary>
    public int Vcpus { get; init; } = 1;

    /// <summary>Guest physical memory; bounds the frame allocator (<c>replay.guest.memory_bytes</c>).</summary>
    public ulong MemoryBytes { get; init; } = 4UL << 30;

    /// <summary>4 (48-bit) or 5 (57-bit) paging levels.</summary>
    public int PagingLevels { get; init; } = 4;

    /// <summary>PCID on: 6 dynamic ASIDs per vCPU, PCID = ASID + 1, CR3 bit 63 when no flush is needed (Linux).</summary>
    public bool Pcid { get; init; }

    /// <summary>Kernel page-table isolation: two roots per process, switched on every kernel entry and exit.</summary>
    public bool Kpti { get; init; }

    /// <summary>Transparent huge pages: a data fault in an empty, 2 MiB-aligned region maps a 2 MiB leaf.</summary>
    public bool Thp { get; init; }

    /// <summary>Emit the <c>ptdying</c> hint (Xen's pagetable_dying) before tearing an address space down.</summary>
    public bool PtDying { get; init; }

    /// <summary>
    /// <c>fork</c> copies every present leaf, program text included (Linux before 2.6.14, whose commit d992895ba2 "Lazy
    /// page table copies in fork()" made fork skip mappings without anonymous pages). Off: text is left to the page cache.
    /// </summary>
    public bool EagerFork { get; init; }

    /// <summary>
    /// The kernel's own work on each path, in instructions (a model constant, not a command-line option and not in the
    /// trace's metadata: the trace's <c>insns</c> column carries what it produced).
    /// </summary>
    public KernelCosts Costs { get; init; } = KernelCosts.Linux;

    /// <summary>
    /// Guest-physical frames that imported address spaces use as their roots (real CR3 values, e.g. Windows
    /// <c>DirectoryTableBase</c>s): the frame allocator never hands them out, and
    /// <see cref="GuestKernel.CreateProcess(int, int?, ulong?)"/> takes them by request. Empty for generated workloads.
    /// </summary>
    public IReadOnlyList<ulong> FixedRoots { get; init; } = [];

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad option.</summary>
    public void Validate()
    {
        if (Vcpus is < 1 or > 64)
        {
            throw new ArgumentException($"--vcpus must be between 1 and 64, not {Vcpus}.");
        }

        if (PagingLevels is not (4 or 5))
        {
            throw new ArgumentException($"--levels must be 4 or 5, not {PagingLevels}.");
        }

        if (MemoryBytes < (64UL << 20) || MemoryBytes > (1UL << 40))
        {
            throw new ArgumentException($"--memory must be between 64 MiB and 1 TiB, not {MemoryBytes} bytes.");
        }

        foreach (ulong f in FixedRoots)
        {
            if (f >= MemoryBytes >> Pte.PageShift)
            {
                throw new ArgumentException($"--memory {MemoryBytes} bytes does not hold root frame 0x{f:x}: it needs at least {(f + 1) << Pte.PageShift} bytes.");
            }
        }
    }
}
