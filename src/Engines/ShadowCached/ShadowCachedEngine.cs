using Replay.Engines.Caches;
using Replay.Engines.Contract;
using Replay.Engines.Guest;

namespace Replay.Engines.ShadowCached;

/// <summary>
/// Cached multi-shadow paging (SPEC §3 <c>shadow-cached</c>) with two personalities, Xen's shadow code and KVM's
/// shadow MMU (REFERENCES §1–§3). Shadow pages are kept per (guest frame, type) in one domain-wide store and
/// survive CR3 switches; every guest frame with a shadow is write-protected, so guest writes to it exit and are
/// emulated (or, for a leaf table, let out of sync). The hardware walks the shadow of the vCPU's current root:
/// TLB misses are 1-D walks of shadow entries, cached by the paging-structure caches.
/// <para>
/// The Xen personality replays only guests Xen's shadow code runs. It handles at most 4 paging levels, so a
/// 5-level trace is refused (<see cref="EngineDescriptor.CannotReplay"/>). Xen offers PCID only to HAP guests
/// (PCID is an 'H' feature in cpufeatureset.h), so a PCID trace is replayed as Xen presents the guest: without
/// PCID. CR3's PCID bits and bit 63 are ignored, every CR3 load drops the non-global translations, and the TLB and
/// paging-structure caches are untagged; counter <c>pcid_hidden_cr3_loads</c> counts the CR3 loads whose PCID or
/// no-flush bits were so ignored.
/// </para>
/// <para>
/// Files: this one holds the access path and the hardware walk; <c>.Fill</c> the hidden-fault handler,
/// <c>.Writes</c> write protection and emulation, <c>.Sync</c> out-of-sync pages, <c>.Roots</c> CR3 and
/// invalidations, <c>.Pool</c> allocation and eviction, <c>.Free</c> unshadowing and zapping.
/// </para>
/// </summary>
public sealed partial class ShadowCachedEngine : IMmuEngine
{
    private static readonly ExitKind[] Kinds =
    [
        new(ExitReason.CrAccess, "cr3_switch"),
        new(ExitReason.CrAccess, "flush_all"),
        new(ExitReason.Invlpg, "invlpg"),
        new(ExitReason.ExceptionNmi, "shadow_fill"),
        new(ExitReason.ExceptionNmi, "guest_pf_reflect"),
        new(ExitReason.ExceptionNmi, "pt_emulate"),
        new(ExitReason.ExceptionNmi, "fast_emulate"),
        new(ExitReason.ExceptionNmi, "oos_unsync"),
        new(ExitReason.ExceptionNmi, "unshadow"),
        new(ExitReason.Vmcall, "unshadow"),
        new(ExitReason.WithinExit, "oos_resync"),
        new(ExitReason.WithinExit, "unshadow"),
        new(ExitReason.WithinExit, "shadow_prefetch"),
    ];

    public static readonly EngineDescriptor Descriptor = new(
        "shadow-cached",
        "Cached multi-shadow paging: shadows kept per guest table across CR3 switches, guest tables write-protected (Xen or KVM personality).",
        [
            new EngineOption("personality", OptionKind.Choice, "xen",
                "Whose shadow MMU: xen (xen/arch/x86/mm/shadow) or kvm (arch/x86/kvm/mmu). xen runs guests of at most 4 paging levels (a 5-level trace is refused) " +
                "and offers PCID only to HAP guests, so a PCID trace replays with PCID hidden (every CR3 load flushes; counter pcid_hidden_cr3_loads).", ["xen", "kvm"]),
            new EngineOption("oos", OptionKind.Bool, "true", "Let leaf tables go out of sync on a write (Xen: 3 slots per vCPU; KVM: unbounded unsync)."),
            new EngineOption("prefetch", OptionKind.Int, EngineOption.Auto,
                "Prefetch window of a hidden fault: xen 32 (the faulting entry and up to 31 after it, to the end of the shadow L1), kvm 8 (the aligned block).", Max: Pte.EntriesPerTable),
            new EngineOption("pool_pages", OptionKind.Int, EngineOption.Auto,
                "Shadow-page budget: xen 256 per vCPU + 2 per MiB of guest memory; kvm guest pages / 50, at least 64.", Min: 8, Max: 1L << 40),
            new EngineOption("roots", OptionKind.Int, EngineOption.Auto, "kvm: previous roots cached per vCPU besides the current one (KVM_MMU_NUM_PREV_ROOTS, 3).", Max: 64),
            new EngineOption("early_unshadow", OptionKind.Bool, "true", "xen: unshadow a frame after two consecutive emulated zero writes to it (SHOPT_EARLY_UNSHADOW)."),
            new EngineOption("host_large_pages", OptionKind.Choice, "2m",
                "kvm: the largest page the host backs guest RAM with, which bounds the spte mapping a guest 2 MiB/1 GiB page (host_pfn_mapping_level): " +
                "2m (default: transparent huge pages, with QEMU madvising guest RAM MADV_HUGEPAGE, the common host setting), 1g (1 GiB hugetlbfs), " +
                "none (4 KiB: every guest superpage splintered). No huge spte covers a shadowed guest table (disallow_lpage). xen always splinters.",
                ["2m", "1g", "none"]),
        ],
        (config, o) => new ShadowCachedEngine(config, ShadowCachedOptions.From(o, config)))
    {
        ExitKinds = Kinds,
        CannotReplay = (config, o) => ShadowCachedOptions.CannotReplay(ShadowCachedOptions.PersonalityOf(o), config),
    };

    // Exit kinds, indexed by the constants below. Work done inside another exit (resyncs at a CR3 load, an early
    // unshadow after an emulation, eviction while allocating, prefetch after a fill) is WITHIN_EXIT, priced at its
    // handler's cost with no transition of its own, as for writable-pt's reconnects.
    private const int Cr3Switch = 0;
    private const int FlushAll = 1;
    private const int InvlpgExit = 2;
    private const int ShadowFill = 3;
    private const int GuestPfReflect = 4;
    private const int PtEmulate = 5;
    private const int FastEmulate = 6;
    private const int OosUnsync = 7;
    private const int UnshadowExit = 8;
    private const int DyingHypercall = 9;
    private const int OosResync = 10;
    private const int UnshadowWithin = 11;
    private const int PrefetchWithin = 12;


    private readonly ShadowCachedOptions _o;
    private readonly bool _xen;
    private readonly ShadowStore _store = new();
    private readonly VcpuShadow[] _v;
    private readonly string[] _counterNames;
    private readonly int[] _counterIndex;
    private readonly ShadowType _top;

    /// <summary>Pages another part of a composed engine holds, reported with this engine's shadow pages.</summary>
    private readonly long _pagesBase;

    /// <summary>Xen: the domain has made a pagetable_dying call (<c>pagetable_dying_op</c>).</summary>
    private bool _dyingOp;

    /// <summary>Xen on a PCID trace: the guest runs without PCID, as Xen presents a shadow-mode guest.</summary>
    private readonly bool _pcidHidden;

    /// <summary>Throws <see cref="EngineCannotReplayException"/> for a guest the personality's system never runs (see the class remarks).</summary>
    public ShadowCachedEngine(MachineConfig config, ShadowCachedOptions options)
        : this(new GuestMachine(MachineFor(config, options)), options, stats: null, pagesBase: 0, pcidHidden: HidesPcid(config, options))
    {
    }

    /// <summary>
    /// The shadow machinery as a part of another engine (<c>hybrid</c>): it replays on <paramref name="machine"/>, which
    /// the caller owns and shares, and counts into <paramref name="stats"/>, whose first <see cref="KindList"/> exit
    /// kinds and first <see cref="CountersFor"/> counters are this engine's. Its shadow pages are reported on top of
    /// <paramref name="pagesBase"/> pages the caller holds. A null <paramref name="stats"/> makes its own.
    /// </summary>
    internal ShadowCachedEngine(GuestMachine machine, ShadowCachedOptions options, EngineStats? stats, long pagesBase, bool pcidHidden)
    {
        _o = options;
        _xen = options.Personality == Personality.Xen;
        _pcidHidden = pcidHidden;
        _pagesBase = pagesBase;
        Machine = machine;
        (_counterNames, _counterIndex) = ShadowCachedCounters.For(options.Personality);
        Stats = stats ?? new EngineStats(Kinds.Length, _counterNames.Length);
        _v = Machine.Vcpus.Select(_ => new VcpuShadow(options.Roots)).ToArray();
        _top = (ShadowType)machine.Levels;
    }

    /// <summary>The exit kinds every shadow-cached engine takes (personality-independent), in stats order.</summary>
    internal static IReadOnlyList<ExitKind> KindList => Kinds;

    /// <summary>The counter names of <paramref name="p"/>, in stats order.</summary>
    internal static IReadOnlyList<string> CountersFor(Personality p) => ShadowCachedCounters.For(p).Names;

    /// <summary>Whether a trace of <paramref name="config"/> replays with PCID hidden (Xen offers PCID only to HAP guests).</summary>
    internal static bool HidesPcid(MachineConfig config, ShadowCachedOptions options) => options.Personality == Personality.Xen && config.Pcid;

    /// <summary>The machine the guest runs on under <paramref name="options"/>; throws for a guest the personality never runs.</summary>
    internal static MachineConfig MachineFor(MachineConfig config, ShadowCachedOptions options)
    {
        if (ShadowCachedOptions.CannotReplay(options.Personality, config) is { } why)
        {
            throw new EngineCannotReplayException(why);
        }

        return HidesPcid(config, options) ? config with { Pcid = false } : config;
    }

    /// <summary>Shadow pages live in the store.</summary>
    internal long LivePages => _store.Live;

    /// <summary>
    /// Builds (or finds) the top-level shadow of <paramref name="vcpu"/>'s loaded guest root and makes it current, as
    /// <c>sh_update_cr3</c> does when a paging mode is entered (Xen pins it); returns the shadow pages built.
    /// </summary>
    internal int AdoptRoot(int vcpu)
    {
        int built = 0;
        var root = FindRoot(Machine.Vcpus[vcpu].Cr3 >> Pte.PageShift, ref built);
        if (_xen)
        {
            Pin(root);
        }

        SetRoot(vcpu, root);
        UpdatePages();
        return built;
    }

    public ShadowCachedOptions Options => _o;

    public IReadOnlyList<ExitKind> ExitKinds => Kinds;

    public IReadOnlyList<string> CounterNames => _counterNames;

    public EngineStats Stats { get; }

    public GuestMachine Machine { get; }

    private int Levels => Machine.Levels;

    public void Run(Trace.EventBatch batch, int start, int end, bool verify) => ReplayLoop.Run(new Hooks(this), batch, start, end, verify, Machine.Config.Tlb.Vpid ? null : Stats);

    public Translation Access(in MemoryAccess access)
    {
        var a = access;
        var v = Machine.Vcpus[a.Vcpu];
        if (v.Tlb.Lookup(a.Va, v.Pcid, a.Kind, out var hit))
        {
            if (PageWalker.Permits(hit.HwPerms, a.Kind, a.User))
            {
                return new Translation(hit.Frame, hit.GuestPerms, false);
            }

            v.Tlb.InvalidatePage(a.Va, v.Pcid);
            Count(Cnt.Rewalks);
        }

        Stats.TlbMisses++;
        var root = CurrentRoot(a.Vcpu);
        var hw = HardwareWalk(v, root, a.Va);
        if (hw.Present && PageWalker.Permits(hw.HwPerms, a.Kind, a.User))
        {
            return Insert(v, a, hw);
        }

        return HiddenFault(a, v, hw);
    }

    public void TableDying(in TableDying hint)
    {
        if (_xen)
        {
            XenPagetableDying(hint);
        }
    }

    private void Count(Cnt c, long n = 1)
    {
        int i = _counterIndex[(int)c];
        if (i >= 0)
        {
            Stats.Counters[i] += n;
        }
    }

    private static Translation Insert(VcpuState v, in MemoryAccess a, in ShadowWalk hw)
    {
        v.Tlb.Insert(a.Va, v.Pcid, a.Kind, hw.PageShift, hw.PageBase, hw.HwPerms, hw.Perms, dirty: true, hw.Global);
        return new Translation(hw.Frame, hw.Perms, false);
    }

    /// <summary>
    /// The hardware walk of the shadow rooted at <paramref name="root"/>: one reference per level until a
    /// not-present entry or the leaf (a level-1 entry, or a KVM huge spte), permissions accumulated as the
    /// processor does; the paging-structure caches hold shadow upper entries (the child page's id stands for its
    /// address).
    /// </summary>
    private ShadowWalk HardwareWalk(VcpuState v, ShadowPage root, ulong va)
    {
        var r = default(ShadowWalk);
        var page = root;
        int level = Levels;
        ulong acc = Pte.Rw | Pte.Us;
        int hitLevel = v.Psc.Lookup(va, v.Pcid, level, out ulong cached, out ulong cachedAcc);
        if (hitLevel != 0)
        {
            Stats.PscHits++;
            page = _store.Page((int)cached);
            acc = cachedAcc;
            level = hitLevel - 1;
        }

        while (true)
        {
            int index = Pte.Index(va, level);
            WalkServed.Count(Stats, Machine.Caches.Data(v.Id, HostAddress.ShadowEntry(page.Id, index)));
            ulong e = page.E[index];
            if ((e & SEntry.Present) == 0)
            {
                r.Missed = page;
                r.MissedLevel = level;
                r.MissedEntry = e;
                return r;
            }

            acc = (acc & (e | ~(Pte.Rw | Pte.Us))) | (e & Pte.Nx);
            if (level == 1 || (e & SEntry.Large) != 0)
            {
                r.Present = true;
                r.PageShift = Pte.Shift(level);
                r.PageBase = e & Pte.AddrMask;
                r.Frame = r.PageBase + (va & ((1UL << r.PageShift) - 1) & ~Pte.PageOffsetMask);
                r.Perms = PageWalker.ToPerms(acc);
                r.HwPerms = (e & SEntry.HwWrite) != 0 ? r.Perms : r.Perms & ~Perms.Write;
                r.Global = (e & Pte.Global) != 0;
                r.Missed = page;
                return r;
            }

            var child = _store.Page(SEntry.Child(e));
            v.Psc.Insert(va, level, v.Pcid, (ulong)child.Id, acc);
            page = child;
            level--;
        }
    }

    /// <summary>Result of a hardware walk of the shadow.</summary>
    private struct ShadowWalk
    {
        public bool Present;

        /// <summary>The 4 KiB frame the va maps to.</summary>
        public ulong Frame;

        /// <summary>The mapping's page (4 KiB, or a KVM huge spte's 2 MiB/1 GiB): base gpa and size, for the TLB.</summary>
        public ulong PageBase;
        public int PageShift;

        public Perms Perms;
        public Perms HwPerms;
        public bool Global;

        /// <summary>The page the walk stopped in (the leaf page when <see cref="Present"/>).</summary>
        public ShadowPage? Missed;
        public int MissedLevel;
        public ulong MissedEntry;
    }

    /// <summary>The engine's hooks for <see cref="ReplayLoop.Run{THooks}"/>; internal so an engine composed of this one runs it directly.</summary>
    internal readonly struct Hooks(ShadowCachedEngine e) : IEngineHooks
    {
        public GuestMachine Machine => e.Machine;

        public Translation Access(in MemoryAccess access) => e.Access(access);

        public void LoadCr3(in Cr3Load load) => e.LoadCr3(load);

        public void WritePageTable(in PageTableWrite write) => e.WritePageTable(write);

        public void Invalidate(in Invalidation inv) => e.Invalidate(inv);

        public void TableDying(in TableDying hint) => e.TableDying(hint);
    }
}
