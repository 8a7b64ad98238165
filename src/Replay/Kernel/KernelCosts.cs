namespace Replay.Kernel;

/// <summary>
/// The guest kernel's own work on the paths the model takes, in instructions retired (the trace's <c>insns</c>): what
/// the kernel does besides the page-table stores and memory accesses the trace lists. The page-fault handler is not
/// here: the cost profile prices each guest fault whole (<c>guest_fault_cycles</c>). Each number is derived in
/// traces/README.md ("Kernel work") from a published native measurement of that path; none is fitted to a
/// virtualization result.
/// </summary>
public sealed record KernelCosts
{
    /// <summary>A system call's entry, dispatch and return (lmbench "null call").</summary>
    public long Syscall { get; init; }

    /// <summary>A context switch: the scheduler and <c>switch_mm</c>, without the CR3 load the trace lists.</summary>
    public long Switch { get; init; }

    /// <summary><c>fork</c>: duplicating the task, the mm and its VMAs (the page-table copy is <see cref="ForkPerEntry"/>).</summary>
    public long Fork { get; init; }

    /// <summary>Each present leaf <c>fork</c> copies (<c>copy_present_pte</c>: reference counts, rmap).</summary>
    public long ForkPerEntry { get; init; }

    /// <summary><c>exec</c>: loading the binary and setting up the new mm (its teardown of the old one is <see cref="Exit"/>).</summary>
    public long Exec { get; init; }

    /// <summary>Tearing an mm down at exit or exec, besides <see cref="ExitPerEntry"/>; for exit also the task's release and the parent's wakeup.</summary>
    public long Exit { get; init; }

    /// <summary>Each present leaf an exit or exec zaps (<c>zap_pte_range</c>: reference counts, rmap, freeing).</summary>
    public long ExitPerEntry { get; init; }

    /// <summary>No kernel work: for tests that count exact events and instructions.</summary>
    public static readonly KernelCosts None = new();

    /// <summary>The calibrated Linux-like kernel (derivations in traces/README.md, "Kernel work").</summary>
    public static readonly KernelCosts Linux = new()
    {
        Syscall = 500,
        Switch = 13_400,
        Fork = 128_000,
        ForkPerEntry = 150,
        Exec = 100_000,
        Exit = 63_000,
        ExitPerEntry = 120,
    };
}
