namespace Replay.Kernel;

/// <summary>
/// One address space (a Linux <c>mm_struct</c>): its root table (and, with KPTI, the user-mode root), the
/// TLB generation that advances whenever one of its translations is removed or narrowed, and the vCPUs that
/// ever ran it (its <c>mm_cpumask</c>). Threads of a process share it.
/// </summary>
public sealed class Process
{
    internal Process(int id, long contextId, ulong root, ulong userRoot, bool idle, int program)
    {
        Id = id;
        Program = program;
        ContextId = contextId;
        Root = root;
        UserRoot = userRoot;
        IsIdle = idle;
    }

    /// <summary>Small number in creation order (0 is the idle <c>init_mm</c>).</summary>
    public int Id { get; }

    /// <summary>
    /// The program it runs (the file its text is mapped from): processes running the same program share its text
    /// pages through the page cache; a fork keeps its parent's, an exec names a new one.
    /// </summary>
    public int Program { get; }

    /// <summary>Frame of the kernel-mode root (the one loaded without KPTI).</summary>
    public ulong Root { get; }

    /// <summary>Frame of the user-mode root with KPTI, else 0.</summary>
    public ulong UserRoot { get; }

    /// <summary>True for the kernel's own address space (no user half), run by idle vCPUs.</summary>
    public bool IsIdle { get; }

    /// <summary>False once torn down by exit or exec.</summary>
    public bool Alive { get; internal set; } = true;

    /// <summary>Linux's <c>ctx_id</c>: never reused, so an ASID slot can tell a new mm from an old one.</summary>
    internal long ContextId { get; }

    /// <summary>Linux's <c>tlb_gen</c>.</summary>
    internal long TlbGen { get; set; }

    /// <summary>Bit per vCPU that ever ran this address space.</summary>
    internal ulong RanOn { get; set; }

    /// <summary>The vCPU it last ran on, or -1.</summary>
    internal int LastVcpu { get; set; } = -1;

    public override string ToString() => IsIdle ? "init_mm" : $"process {Id}";
}
