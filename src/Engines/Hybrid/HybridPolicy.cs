namespace Replay.Engines.Hybrid;

/// <summary>The paging mode a VM runs under in the <c>hybrid</c> engine.</summary>
public enum PagingMode
{
    /// <summary>Hardware-assisted (nested, EPT) paging: the paper's HAP.</summary>
    Nested,

    /// <summary>Software shadow paging: the paper's SP.</summary>
    Shadow,
}

/// <summary>What one sampling interval measured: the counts the policy turns into rates.</summary>
/// <param name="Accesses">Guest memory accesses (read, write, fetch) in the interval.</param>
/// <param name="TlbMisses">TLB misses (the hardware's DTLB/ITLB miss counters, the same in either mode).</param>
/// <param name="GuestFaults">Guest page faults (the guest's own faults, not hidden shadow faults).</param>
/// <param name="PtWrites">Guest page-table updates (<c>ptwrite</c> events).</param>
/// <param name="Cr3Loads">Guest CR3 loads.</param>
/// <param name="Invalidations">Guest INVLPGs and TLB flushes.</param>
public readonly record struct IntervalSample(long Accesses, long TlbMisses, long GuestFaults, long PtWrites, long Cr3Loads = 0, long Invalidations = 0)
{
    /// <summary>The guest's MMU events that exit under shadow paging and not under nested paging.</summary>
    public long ShadowExitEvents => GuestFaults + PtWrites + Cr3Loads + Invalidations;
}

/// <summary>
/// The switching policy of Wang, Zang, Wang, Luo, Li, "Selective Hardware/Software Memory Virtualization" (VEE 2011;
/// REFERENCES §6.2): at the end of every sampling interval the VMM reads two rates, the TLB-miss rate (high favours
/// shadow paging, whose TLB misses are 1-D walks) and the guest page-fault rate (high favours nested paging, which
/// takes no exit for them), and picks the mode for the next interval. The fault-side rate here counts every guest
/// MMU event that exits under shadow paging only: page faults as the paper does, and page-table writes, CR3 loads
/// and INVLPGs/flushes, which cost a shadow VMM an exit each just as faults do (REFERENCES §6.2 names page-table
/// updates beside faults). A high fault-side rate wins over a high TLB-miss rate, since each such event under shadow
/// paging is an exit while a TLB miss under nested paging only lengthens a walk; when neither rate is high the VM
/// stays where it is. Rates are per 1000 accesses, compared in integer arithmetic so the decision is exact.
/// </summary>
public static class HybridPolicy
{
    /// <summary>The mode interval <paramref name="s"/> votes for; <paramref name="current"/> when the interval had no access.</summary>
    public static PagingMode Vote(PagingMode current, in IntervalSample s, HybridOptions o)
    {
        if (s.Accesses <= 0)
        {
            return current;
        }

        // rate ≥ threshold per 1000 accesses ⇔ count × 1000 ≥ threshold × accesses.
        if (s.ShadowExitEvents * 1000 >= o.FaultThreshold * s.Accesses)
        {
            return PagingMode.Nested;
        }

        return s.TlbMisses * 1000 >= o.TlbThreshold * s.Accesses ? PagingMode.Shadow : current;
    }
}

/// <summary>
/// The policy's memory across intervals: the VM switches only after <see cref="HybridOptions.Hold"/> consecutive
/// intervals vote for the other mode, so a one-interval blip never pays for rebuilding the shadows.
/// </summary>
public sealed class HybridSwitcher(HybridOptions options)
{
    private int _streak;

    /// <summary>The mode for the next interval, given the current one and what the interval just ended measured.</summary>
    public PagingMode Next(PagingMode current, in IntervalSample s)
    {
        if (HybridPolicy.Vote(current, s, options) == current)
        {
            _streak = 0;
            return current;
        }

        if (++_streak < options.Hold)
        {
            return current;
        }

        _streak = 0;
        return current == PagingMode.Nested ? PagingMode.Shadow : PagingMode.Nested;
    }
}
