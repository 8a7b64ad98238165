using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.Parts.Shadow;

/// <summary>Whose shadow MMU <see cref="ShadowMmu"/> models (the <c>shadow-cached</c> engine's <c>personality</c>).</summary>
public enum Personality
{
    /// <summary>Xen's shadow code (<c>xen/arch/x86/mm/shadow/</c>), REFERENCES §1.</summary>
    Xen,

    /// <summary>KVM's shadow MMU (<c>arch/x86/kvm/mmu/mmu.c</c>), REFERENCES §2.</summary>
    Kvm,
}

/// <summary>Options of the shadow machinery (<see cref="ShadowMmu"/>), personality defaults resolved.</summary>
/// <param name="Personality">Xen or KVM.</param>
/// <param name="Oos">Let leaf tables go out of sync (Xen's OOS L1s, KVM's unsync pages).</param>
/// <param name="Prefetch">Entries prefetched with each hidden fault (Xen 32 after the faulting one, KVM an aligned block of 8).</param>
/// <param name="PoolPages">Shadow-page budget.</param>
/// <param name="Roots">KVM: previous roots cached per vCPU besides the current one.</param>
/// <param name="EarlyUnshadow">Xen: unshadow a frame after two consecutive emulated zero writes (and the <c>ptdying</c> rule).</param>
/// <param name="FastEmulation">
/// Xen: a kernel-mode write fault on the linear frame of the last successful emulation goes straight to the emulator
/// (<c>SHOPT_FAST_EMULATION</c>, Xen commit ce7887f778, 2008). Off models Xen's shadow code before it, or built
/// without it: every trapped write takes the full <c>sh_page_fault</c> path.
/// </param>
/// <param name="HostLargeLevel">
/// KVM: the largest page level the host backs guest RAM with (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB), which bounds the
/// level of an spte mapping a guest superpage (<c>host_pfn_mapping_level</c>). Xen always splinters: 1.
/// </param>
public sealed record ShadowOptions(Personality Personality, bool Oos, int Prefetch, long PoolPages, int Roots, bool EarlyUnshadow,
    int HostLargeLevel = 1, bool FastEmulation = true)
{
    /// <summary>Xen's OOS slots per vCPU (<c>SHADOW_OOS_PAGES</c>).</summary>
    public const int XenOosSlots = 3;

    /// <summary>Xen: shadow prefetch distance (<c>PREFETCH_DISTANCE</c> in multi.c).</summary>
    public const int XenPrefetch = 32;

    /// <summary>KVM: <c>PTE_PREFETCH_NUM</c>.</summary>
    public const int KvmPrefetch = 8;

    /// <summary>KVM: <c>KVM_NUM_MMU_PAGES</c> ratio, guest pages per shadow page.</summary>
    public const long KvmPagesRatio = 50;

    /// <summary>KVM: <c>KVM_MIN_ALLOC_MMU_PAGES</c>.</summary>
    public const long KvmMinPages = 64;

    /// <summary>KVM: <c>KVM_MIN_FREE_MMU_PAGES</c>.</summary>
    public const long KvmMinFree = 5;

    /// <summary>KVM: <c>KVM_REFILL_PAGES</c>.</summary>
    public const long KvmRefill = 25;

    /// <summary>KVM: <c>KVM_MMU_NUM_PREV_ROOTS</c>.</summary>
    public const int KvmPrevRoots = 3;

    /// <summary>
    /// The pool budget SPEC §3 gives each personality: Xen 256 pages per vCPU + 2 per MiB of guest memory (the
    /// toolstack's 1 MiB per vCPU + 8 KiB per MiB); KVM guest pages / 50, at least 64.
    /// </summary>
    public static long DefaultPool(Personality p, MachineConfig config) => p == Personality.Xen
        ? (256L * Math.Max(1, config.Vcpus)) + (2L * (long)(config.MemoryBytes >> 20))
        : Math.Max(KvmMinPages, (long)(config.MemoryBytes >> Pte.PageShift) / KvmPagesRatio);

    /// <summary>Xen's shadow code handles guests of at most this many paging levels (guest_2.c, guest_3.c, guest_4.c).</summary>
    public const int XenMaxGuestLevels = 4;

    /// <summary>
    /// Why <paramref name="p"/> cannot replay a trace of <paramref name="config"/>, or null: Xen's shadow code
    /// handles at most 4-level guests, so a 5-level trace is refused rather than modelled as Xen never runs it.
    /// (A PCID trace is not refused: Xen offers PCID only to HAP guests, so the engine replays it as Xen presents
    /// the guest, without PCID.)
    /// </summary>
    public static string? CannotReplay(Personality p, MachineConfig config) =>
        p == Personality.Xen && config.PagingLevels > XenMaxGuestLevels
            ? $"shadow-cached with personality=xen cannot replay a {config.PagingLevels}-level trace: Xen's shadow code handles guests of at most {XenMaxGuestLevels} paging levels; use shadow-cached:personality=kvm or ept."
            : null;

    /// <summary>Every option at its default for <paramref name="p"/> (what <c>shadow-cached:personality=…</c> alone means).</summary>
    public static ShadowOptions Defaults(Personality p, MachineConfig config) => new(
        p, Oos: true, p == Personality.Xen ? XenPrefetch : KvmPrefetch, DefaultPool(p, config), KvmPrevRoots, EarlyUnshadow: true,
        p == Personality.Xen ? 1 : 2);
}
