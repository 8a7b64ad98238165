using Replay.Engines.Paging;

namespace Replay.Engines.Caches;

/// <summary>
/// Host-physical addresses of the tables the hypervisor owns, for the memory-hierarchy model: guest memory sits at
/// its guest-physical address (identity-mapped), and each kind of hypervisor table gets its own region above the
/// 52-bit physical space, so no two entries share a line unless they would in a real table page.
/// </summary>
public static class HostAddress
{
    private const ulong ShadowRegion = 1UL << 60;
    private const ulong EptRegion = 2UL << 60;
    private const ulong VirtualTlbRegion = 3UL << 60;

    /// <summary>Entry <paramref name="index"/> of shadow page <paramref name="pageId"/>.</summary>
    public static ulong ShadowEntry(int pageId, int index) => ShadowRegion | ((ulong)(uint)pageId << Pte.PageShift) | ((ulong)index << Pte.EntryShift);

    /// <summary>Entry <paramref name="index"/> of the level-<paramref name="level"/> EPT table identified by <paramref name="tableKey"/>.</summary>
    public static ulong EptEntry(int level, ulong tableKey, int index) =>
        EptRegion | ((ulong)level << 52) | ((tableKey & 0xFF_FFFF_FFFFUL) << Pte.PageShift) | ((ulong)index << Pte.EntryShift);

    /// <summary>
    /// Entry <paramref name="index"/> of <paramref name="vcpu"/>'s flush-on-switch shadow table at
    /// <paramref name="level"/> covering virtual prefix <paramref name="vaPrefix"/> (the va bits above those the table maps).
    /// </summary>
    public static ulong VirtualTlbEntry(int vcpu, int level, ulong vaPrefix, int index) =>
        VirtualTlbRegion | ((ulong)(vcpu & 63) << 52) | ((ulong)level << 49) | ((vaPrefix & 0xF_FFFF_FFFFUL) << Pte.PageShift) | ((ulong)index << Pte.EntryShift);
}
