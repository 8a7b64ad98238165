using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Shadow;

namespace Replay.Engines.ShadowCached;

/// <summary>
/// Cached multi-shadow paging (SPEC §3 <c>shadow-cached</c>) with two personalities, Xen's shadow code and KVM's
/// shadow MMU (REFERENCES §1–§3): the shadow machinery (<see cref="ShadowMmu"/> and its parts in
/// <c>Parts/Shadow</c>) alone, on its own guest machine.
/// <para>
/// The Xen personality replays only guests Xen's shadow code runs. It handles at most 4 paging levels, so a
/// 5-level trace is refused (<see cref="EngineDescriptor.CannotReplay"/>). Xen offers PCID only to HAP guests
/// (PCID is an 'H' feature in cpufeatureset.h), so a PCID trace is replayed as Xen presents the guest: without
/// PCID. CR3's PCID bits and bit 63 are ignored, every CR3 load drops the non-global translations, and the TLB and
/// paging-structure caches are untagged; counter <c>pcid_hidden_cr3_loads</c> counts the CR3 loads whose PCID or
/// no-flush bits were so ignored.
/// </para>
/// </summary>
public sealed class ShadowCachedEngine : IMmuEngine
{
    /// <summary>The engine's declarations; a class of their own, so they are complete before the descriptor reads them.</summary>
    private static class Declared
    {
        public static readonly OptionList Options = new();

        public static readonly ChoiceOption Personality = Options.Choice("personality", "xen",
            "Whose shadow MMU: xen (xen/arch/x86/mm/shadow) or kvm (arch/x86/kvm/mmu). xen runs guests of at most 4 paging levels (a 5-level trace is refused) " +
            "and offers PCID only to HAP guests, so a PCID trace replays with PCID hidden (every CR3 load flushes; counter pcid_hidden_cr3_loads).", ["xen", "kvm"]);

        public static readonly BoolOption Oos = Options.Bool("oos", true, "Let leaf tables go out of sync on a write (Xen: 3 slots per vCPU; KVM: unbounded unsync).");

        public static readonly IntOption Prefetch = Options.Int("prefetch", EngineOption.Auto,
            "Prefetch window of a hidden fault: xen 32 (the faulting entry and up to 31 after it, to the end of the shadow L1), kvm 8 (the aligned block).", max: Pte.EntriesPerTable);

        public static readonly IntOption PoolPages = Options.Int("pool_pages", EngineOption.Auto,
            "Shadow-page budget: xen 256 per vCPU + 2 per MiB of guest memory; kvm guest pages / 50, at least 64.", min: 8, max: 1L << 40);

        public static readonly IntOption Roots = Options.Int("roots", EngineOption.Auto,
            "kvm: previous roots cached per vCPU besides the current one (KVM_MMU_NUM_PREV_ROOTS, 3).", max: 64);

        public static readonly BoolOption EarlyUnshadow = Options.Bool("early_unshadow", true,
            "xen: unshadow a frame after two consecutive emulated zero writes to it (SHOPT_EARLY_UNSHADOW).");

        public static readonly BoolOption FastEmulate = Options.Bool("fast_emulate", true,
            "xen: a kernel write fault on the linear frame of the last emulation goes straight to the emulator (SHOPT_FAST_EMULATION, 2008); false = the full fault path for every trapped write.");

        public static readonly ChoiceOption HostLargePages = Options.Choice("host_large_pages", "2m",
            "kvm: the largest page the host backs guest RAM with, which bounds the spte mapping a guest 2 MiB/1 GiB page (host_pfn_mapping_level): " +
            "2m (default: transparent huge pages, with QEMU madvising guest RAM MADV_HUGEPAGE, the common host setting), 1g (1 GiB hugetlbfs), " +
            "none (4 KiB: every guest superpage splintered). No huge spte covers a shadowed guest table (disallow_lpage). xen always splinters.",
            ["2m", "1g", "none"]);

        public static readonly ExitKindList Kinds = new();
        public static readonly int ShadowKinds = Kinds.Include(Parts.Shadow.ShadowKinds.Kinds);
    }

    public static readonly EngineDescriptor Descriptor = new(
        "shadow-cached",
        "Cached multi-shadow paging: shadows kept per guest table across CR3 switches, guest tables write-protected (Xen or KVM personality).",
        Declared.Options.All,
        (config, o) => new ShadowCachedEngine(config, OptionsFrom(o, config)))
    {
        ExitKinds = Declared.Kinds.All,
        CannotReplay = (config, o) => ShadowOptions.CannotReplay(PersonalityOf(o), config),
    };

    private readonly ShadowMmu _shadow;

    /// <summary>Throws <see cref="EngineCannotReplayException"/> for a guest the personality's system never runs (see the class remarks).</summary>
    public ShadowCachedEngine(MachineConfig config, ShadowOptions options)
    {
        Machine = new GuestMachine(ShadowMmu.MachineFor(config, options));
        CounterNames = ShadowMmu.CounterNamesFor(options.Personality);
        Stats = new EngineStats(ExitKinds.Count, CounterNames.Count);
        _shadow = new ShadowMmu(Machine, options, Stats, Declared.ShadowKinds, counterBase: 0, pagesBase: 0, ShadowMmu.HidesPcid(config, options));
    }

    /// <summary>The personality an option set names.</summary>
    public static Personality PersonalityOf(EngineOptions o) => Declared.Personality.Of(o) == "kvm" ? Personality.Kvm : Personality.Xen;

    /// <summary>Resolves the registry's option values ("auto" = the personality's default).</summary>
    public static ShadowOptions OptionsFrom(EngineOptions o, MachineConfig config)
    {
        var p = PersonalityOf(o);
        bool xen = p == Personality.Xen;
        int prefetch = (int)Declared.Prefetch.OrAuto(o, xen ? ShadowOptions.XenPrefetch : ShadowOptions.KvmPrefetch);
        long pool = Declared.PoolPages.OrAuto(o, ShadowOptions.DefaultPool(p, config));
        int roots = (int)Declared.Roots.OrAuto(o, ShadowOptions.KvmPrevRoots);
        int host = xen ? 1 : Declared.HostLargePages.Of(o) switch { "1g" => 3, "2m" => 2, _ => 1 };
        return new ShadowOptions(p, Declared.Oos.Of(o), prefetch, pool, roots, Declared.EarlyUnshadow.Of(o), host,
            FastEmulation: Declared.FastEmulate.Of(o));
    }

    public ShadowOptions Options => _shadow.Options;

    public IReadOnlyList<ExitKind> ExitKinds => Declared.Kinds.All;

    public IReadOnlyList<string> CounterNames { get; }

    public EngineStats Stats { get; }

    public GuestMachine Machine { get; }

    public void Run(Trace.EventBatch batch, int start, int end, bool verify) =>
        ReplayLoop.Run(new ShadowMmu.Hooks(_shadow), batch, start, end, verify, Machine.Config.Tlb.Vpid ? null : Stats);

    public Translation Access(in MemoryAccess access) => _shadow.Access(access);

    public void LoadCr3(in Cr3Load load) => _shadow.LoadCr3(load);

    public void WritePageTable(in PageTableWrite write) => _shadow.WritePageTable(write);

    public void Invalidate(in Invalidation inv) => _shadow.Invalidate(inv);

    public void TableDying(in TableDying hint) => _shadow.TableDying(hint);
}
