namespace Replay.Kernel;

/// <summary>
/// Per-vCPU kernel state (Linux's <c>cpu_tlbstate</c>): the loaded address space, the current ASID, the six
/// dynamic ASID slots with the context id and TLB generation each was last flushed at, the KPTI user-PCID
/// flush mask, and whether the vCPU is in kernel mode (KPTI's kernel root loaded).
/// </summary>
internal sealed class CpuState(Process idle)
{
    /// <summary>Linux's <c>TLB_NR_DYN_ASIDS</c>.</summary>
    public const int DynamicAsids = 6;

    public Process Current = idle;

    /// <summary>False until the first CR3 load: <c>init_mm</c> is loaded lazily, when the vCPU first needs a root.</summary>
    public bool Loaded;
    public int Asid;
    public int NextAsid;
    public bool InKernel = true;
    public readonly long[] SlotContext = new long[DynamicAsids];
    public readonly long[] SlotGen = new long[DynamicAsids];
    public readonly bool[] UserFlush = new bool[DynamicAsids];

    /// <summary>
    /// Linux's <c>choose_new_asid</c>: the slot already holding this mm (flush if its generation is behind),
    /// else the next slot round robin (always a flush).
    /// </summary>
    public (int Asid, bool Flush) Choose(Process p)
    {
        for (int a = 0; a < DynamicAsids; a++)
        {
            if (SlotContext[a] == p.ContextId)
            {
                bool flush = SlotGen[a] < p.TlbGen;
                SlotGen[a] = p.TlbGen;
                return (a, flush);
            }
        }

        int asid = NextAsid++;
        if (NextAsid >= DynamicAsids)
        {
            NextAsid = 0;
        }

        SlotContext[asid] = p.ContextId;
        SlotGen[asid] = p.TlbGen;
        return (asid, true);
    }
}
