using Replay.Engines.Paging;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// Shadow page types (Xen's <c>SH_type_*</c> for a 64-bit guest): one per guest table level, plus the splinter
/// types of guest superpages, keyed by the gfn of the superpage (or 2 MiB part of it) instead of a table frame.
/// </summary>
internal enum ShadowType : byte
{
    L1 = 1,
    L2 = 2,
    L3 = 3,
    L4 = 4,
    L5 = 5,

    /// <summary>4 KiB splinters of a guest 2 MiB page (Xen's <c>fl1_64</c>, KVM's direct level-1 page).</summary>
    Fl1 = 6,

    /// <summary>2 MiB parts of a guest 1 GiB page, each pointing to an <see cref="Fl1"/>.</summary>
    Fl2 = 7,
}

/// <summary>
/// One shadow page table page: identity (guest frame, type), its 512 entries, who links to it and the
/// bookkeeping either personality needs. Entry encoding (see <see cref="SEntry"/>): guest flags P/RW/US/G/NX in
/// their PTE positions; bits 51:12 hold the frame for a level-1 entry or the child page's id for an upper one.
/// </summary>
internal sealed class ShadowPage(int id, ulong gfn, ShadowType type)
{
    public readonly ulong[] E = new ulong[Pte.EntriesPerTable];

    /// <summary>Parent entries linking this page: (parent id &lt;&lt; 9) | index.</summary>
    public readonly List<long> Parents = new(1);

    public int Id { get; } = id;

    public ulong Gfn { get; } = gfn;

    public ShadowType Type { get; } = type;

    public int Level { get; } = type switch { ShadowType.Fl1 => 1, ShadowType.Fl2 => 2, _ => (int)type };

    /// <summary>Splinter of a guest superpage: shadows no guest table, so it write-protects nothing.</summary>
    public bool IsSplinter => Type >= ShadowType.Fl1;

    /// <summary>Xen: pinned top-level shadow (<c>sh_pin</c>).</summary>
    public bool Pinned;

    /// <summary>vCPUs using it as their current root, plus (KVM) their cached previous roots (<c>root_count</c>).</summary>
    public int RootCount;

    /// <summary>KVM: <c>sp-&gt;unsync</c>.</summary>
    public bool Unsync;

    /// <summary>KVM: <c>write_flooding_count</c>.</summary>
    public int Flood;

    /// <summary>Freed: its id may be reused.</summary>
    public bool Dead;

    public LinkedListNode<ShadowPage>? PinNode;

    public LinkedListNode<ShadowPage>? ActiveNode;

    public ulong Key => ShadowStore.KeyOf(Gfn, Type);
}

/// <summary>Shadow entry bits beyond the guest flags it copies.</summary>
internal static class SEntry
{
    public const ulong Present = Pte.Present;

    /// <summary>Level 1: the hardware may write through it (guest RW and D set, target no write-protected table).</summary>
    public const ulong HwWrite = 1UL << 9;

    /// <summary>Xen's "magic" guest-not-present entry (<c>sh_l1e_gnp</c>): not present, and known not present in the guest.</summary>
    public const ulong Gnp = 1UL << 10;

    /// <summary>
    /// KVM: an upper-level entry that is a leaf, a huge spte mapping a 2 MiB or 1 GiB page (bits 51:12 hold its
    /// base gpa), where the host backs the guest page with a page as large and no shadowed table lies inside it.
    /// </summary>
    public const ulong Large = Pte.Ps;

    /// <summary>Guest flags a shadow entry copies.</summary>
    public const ulong GuestFlags = Pte.Rw | Pte.Us | Pte.Global | Pte.Nx;

    public static int Child(ulong e) => (int)((e & Pte.AddrMask) >> Pte.PageShift);

    /// <summary>An upper-level entry that links a child page (present and not a huge leaf).</summary>
    public static bool IsLink(ulong e) => (e & (Present | Large)) == Present;

    public static ulong Link(int child, ulong guestEntry) => ((ulong)child << Pte.PageShift) | (guestEntry & (Pte.Rw | Pte.Us | Pte.Nx)) | Present;
}
