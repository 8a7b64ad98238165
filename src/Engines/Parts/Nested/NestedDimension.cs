using Replay.Engines.Guest;

namespace Replay.Engines.Parts.Nested;

/// <summary>
/// The nested (gpa → hpa) dimension of a VM as a part: the VM's one EPT (<see cref="EptMap"/>) and each vCPU's nested
/// MMU (<see cref="NestedMmu"/>: nested TLB and EPT paging-structure caches), with the EPT-violation handler's work.
/// <c>ept</c> walks the guest's tables through it (<see cref="NestedPaging"/>); <c>agile</c> the nested part of its walks.
/// </summary>
internal sealed class NestedDimension
{
    private readonly NestedMmu[] _mmus;

    public NestedDimension(GuestMachine machine, int eptLevels, bool largePages)
    {
        if (eptLevels is < 4 or > 5)
        {
            throw new ArgumentOutOfRangeException(nameof(eptLevels), "EPT has 4 or 5 levels.");
        }

        Map = new EptMap(eptLevels, largePages);
        _mmus = machine.Vcpus.Select(v => new NestedMmu(machine.Config.Tlb, Map, machine.Caches, v.Id)).ToArray();
    }

    public EptMap Map { get; }

    /// <summary>EPT paging-structure pages, the root included.</summary>
    public long Pages => Map.Pages;

    /// <summary>log2 of the page an EPT leaf maps: no combined TLB entry is larger.</summary>
    public int PageShift => Map.PageShift;

    /// <summary>The nested MMU of vCPU <paramref name="vcpu"/>.</summary>
    public NestedMmu Mmu(int vcpu) => _mmus[vcpu];

    /// <summary>
    /// The EPT-violation handler's work for <paramref name="gpa"/>: map it (creating EPT pages), then drop the cached
    /// mappings the SDM says a violation invalidates (Vol. 3C §28.3.3.1): guest-physical ones for that gpa and, when
    /// it was the data access's own gpa, the combined ones for <paramref name="va"/>. Returns the EPT pages created.
    /// </summary>
    public int Violation(VcpuState v, ulong gpa, ulong va, bool isData)
    {
        int created = Map.Fill(gpa);
        _mmus[v.Id].InvalidateGpa(gpa);
        if (isData)
        {
            v.Tlb.InvalidatePage(va, v.Pcid);
            v.Psc.InvalidateVa(va, v.Pcid);
        }

        return created;
    }

    /// <summary>
    /// INVEPT (single-context) on every vCPU: drops the cached guest-physical mappings (nested TLB, EPT
    /// paging-structure caches); the caller drops the combined ones with the guest TLB.
    /// </summary>
    public void InvalidateAll()
    {
        foreach (var n in _mmus)
        {
            n.Flush();
        }
    }
}
