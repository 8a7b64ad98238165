using Replay.Engines.Caches;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Hardware;
using Replay.Engines.Parts.Nested;
using Replay.Engines.Parts.Shadow;
using static Replay.Engines.Agile.AgileEngine.Declared;

namespace Replay.Engines.Agile;

/// <summary>
/// Agile paging (SPEC §3 <c>agile</c>; Gandhi, Hill, Swift, ISCA 2016; REFERENCES §6.1). The hardware walk starts in
/// the shadow table of the vCPU's root (sCR3) and, at a shadow entry with the switch bit, continues in the guest's
/// own table at the next level, every guest entry below it and the final gpa translated through the nested (EPT)
/// dimension. Each guest page-table page is in shadow mode (shadowed and write-protected: a guest write exits and
/// is emulated, the written shadow entry zapped as KVM's <c>kvm_mmu_pte_write</c> does) or in nested mode (not
/// shadowed, written freely; every shadow entry that leads to it carries the switch bit). A nested root means the
/// whole walk is nested (the 2-D walk of <c>ept</c>). Parts reused: the shadow store of <c>shadow-cached</c>
/// (<see cref="ShadowStore"/>: pages per (frame, type), parent links, splinter pages), the EPT map, nested MMU
/// (nested TLB, EPT paging-structure caches) and walk tally of <c>ept</c>, and <see cref="PageWalker"/>, whose
/// table hook, told the level, prices each entry by the mode it is read in.
/// <para>
/// Files: this one holds the access path and the hardware walk; <c>.Shadow</c> hidden faults, write protection and
/// emulation; <c>.Policy</c> the mode changes, CR3 loads, invalidations and the interval scan.
/// </para>
/// </summary>
[GenerateHooks]
public sealed partial class AgileEngine : IMmuEngine
{
    /// <summary>The engine's declarations; a class of their own, so they are complete before the descriptor reads them.</summary>
    internal static class Declared
    {
        // Exit kinds. Mode changes, the interval's dirty-bit scan and prefetch are work inside another exit (or, for
        // the scan, inside the host timer exit that already happens and is not modelled): WITHIN_EXIT.
        public static readonly ExitKindList Kinds = new();
        public static readonly ExitHandle Cr3Switch = Kinds.Add(ExitReason.CrAccess, "cr3_switch");
        public static readonly ExitHandle FlushAll = Kinds.Add(ExitReason.CrAccess, "flush_all");
        public static readonly ExitHandle ShadowFill = Kinds.Add(ExitReason.ExceptionNmi, "shadow_fill");
        public static readonly ExitHandle GuestPfReflect = Kinds.Add(ExitReason.ExceptionNmi, "guest_pf_reflect");
        public static readonly ExitHandle PtEmulate = Kinds.Add(ExitReason.ExceptionNmi, "pt_emulate");
        public static readonly ExitHandle EptFill = Kinds.Add(ExitReason.EptViolation, "ept_fill");
        public static readonly ExitHandle PrefetchWithin = Kinds.Add(ExitReason.WithinExit, "shadow_prefetch");
        public static readonly ExitHandle ToNestedWithin = Kinds.Add(ExitReason.WithinExit, "agile_to_nested");
        public static readonly ExitHandle ToShadowWithin = Kinds.Add(ExitReason.WithinExit, "agile_to_shadow");
        public static readonly ExitHandle DirtyScanWithin = Kinds.Add(ExitReason.WithinExit, "agile_dirty_scan");

        // Counters: these, then agile_walks_l1 … agile_walks_l{levels} (a walk that switched to nested mode at that
        // level; at the root's level: the full 2-D walk), which depend on the trace's paging levels.
        public static readonly CounterList Counters = new();
        public static readonly CounterHandle CToNested = Counters.Add("agile_to_nested");
        public static readonly CounterHandle CToShadow = Counters.Add("agile_to_shadow");
        public static readonly CounterHandle CStartNested = Counters.Add("agile_start_nested");
        public static readonly CounterHandle CWalksShadow = Counters.Add("agile_walks_shadow");
        public static readonly CounterHandle CHiddenFaults = Counters.Add("hidden_faults");
        public static readonly CounterHandle CDirtyFaults = Counters.Add("dirty_faults");
        public static readonly CounterHandle CWriteExits = Counters.Add("pt_write_exits");
        public static readonly CounterHandle CNativeGuestFaults = Counters.Add("guest_faults_unexited");
        public static readonly CounterHandle CShadowRefs = Counters.Add("shadow_walk_refs");
        public static readonly CounterHandle CGuestRefs = Counters.Add("guest_walk_refs");
        public static readonly CounterHandle CEptRefs = Counters.Add("ept_walk_refs");
        public static readonly CounterHandle CNestedTlbHits = Counters.Add("nested_tlb_hits");
        public static readonly CounterHandle CNestedTlbMisses = Counters.Add("nested_tlb_misses");
        public static readonly CounterHandle CEptPscHits = Counters.Add("ept_psc_hits");
        public static readonly CounterHandle CRewalk = Counters.Add("tlb_permission_rewalks");
        public static readonly CounterHandle CPrefetched = Counters.Add("prefetched");
        public static readonly CounterHandle CTargetLoads = Counters.Add("cr3_target_loads");

        /// <summary>Index of <c>agile_walks_l1</c>: the per-level counters follow the fixed ones.</summary>
        public static readonly int CWalksL1 = Counters.All.Count;

        public static readonly TallyCounters Tally = new(CGuestRefs.Index, CEptRefs.Index, CNestedTlbHits.Index, CNestedTlbMisses.Index, CEptPscHits.Index);
    }

    public static readonly EngineDescriptor Descriptor = new(
        "agile",
        "Agile paging (ISCA 2016): walks start in the shadow table and switch to the guest's table plus EPT at write-heavy pages.",
        AgileOptions.Declared,
        (config, o) => new AgileEngine(config, AgileOptions.From(o)))
    {
        ExitKinds = Declared.Kinds.All,
    };

    private readonly AgileOptions _o;
    private readonly string[] _counterNames;
    private readonly ShadowStore _store = new();
    private readonly NestedDimension _nested;

    /// <summary>Each vCPU's shadow root (sCR3), or null when its guest root is in nested mode (the walk starts nested).</summary>
    private readonly ShadowPage?[] _roots;

    // The counters the access path bumps, resolved once from their handles (plain fields on the hot path).
    private readonly int _rewalk = CRewalk.Index;
    private readonly int _walksShadow = CWalksShadow.Index;
    private readonly int _shadowRefs = CShadowRefs.Index;
    private readonly TallyCounters _tally = Declared.Tally;

    /// <summary>Shadow page ids along the current walk's shadow part, by level (see <see cref="Plan"/>).</summary>
    private readonly int[] _planPages = new int[6];

    public AgileEngine(MachineConfig config, AgileOptions? options = null)
    {
        _o = options ?? new AgileOptions();
        Machine = new GuestMachine(config);
        _counterNames = [.. Declared.Counters.All, .. Enumerable.Range(1, config.PagingLevels).Select(l => $"agile_walks_l{l}")];
        Stats = new EngineStats(Declared.Kinds.All.Count, _counterNames.Length);
        _nested = new NestedDimension(Machine, _o.EptLevels, largePages: false);
        _roots = new ShadowPage?[config.Vcpus];
        _nextScan = _o.Interval;
    }

    public AgileOptions Options => _o;

    public IReadOnlyList<ExitKind> ExitKinds => Declared.Kinds.All;

    public IReadOnlyList<string> CounterNames => _counterNames;

    public EngineStats Stats { get; }

    public GuestMachine Machine { get; }

    private int Levels => Machine.Levels;

    public void Run(Trace.EventBatch batch, int start, int end, bool verify) =>
        ReplayLoop.Run(new Hooks(this), batch, start, end, verify, Machine.Config.Tlb.Vpid ? null : Stats);

    public Translation Access(in MemoryAccess access)
    {
        var a = access;
        Tick(a.Index);
        if (HardwareMmu.TryTlbHit(Machine, Stats, a, _rewalk, out var hit))
        {
            return hit;
        }

        var v = Machine.Vcpus[a.Vcpu];
        var n = _nested.Mmu(a.Vcpu);
        while (true)
        {
            var plan = Plan(a.Vcpu, a.Va);
            Stats.Counters[plan.Switch == 0 ? _walksShadow : CWalksL1 + plan.Switch - 1]++;
            var tables = new AgileTables(plan, _planPages, n, Machine.Caches, a.Vcpu, Levels);
            var w = PageWalker.Walk(Machine.Memory, v.Cr3, a.Va, a.Kind, a.User, Levels, setAccessedDirty: true, v.Psc, v.Pcid, ref tables);
            var t = tables.Tally;
            if (w.PscHit)
            {
                Stats.PscHits++;
            }

            if (w.Stopped)
            {
                Count(t, tables.ShadowRefs);
                if (tables.Violation)
                {
                    Violation(v, w.StoppedAt, a.Va, isData: false);
                    continue;
                }

                // A not-present shadow entry: the hidden fault exits; the access restarts after the fill.
                if (HiddenFault(a, v) is { } reflected)
                {
                    return reflected;
                }

                continue;
            }

            int shadowRefs = tables.ShadowRefs;
            if (w.Fault)
            {
                Count(t, shadowRefs);
                return GuestFault(a, plan);
            }

            if (plan.Switch == 0)
            {
                // All shadow: a guest superpage is splintered in the shadow, so the walk reads the splinter entries
                // below the guest leaf; the leaf shadow entry maps the host frame (no nested translation).
                bool present = true;
                for (int level = w.LeafLevel - 1; level >= 1 && present; level--)
                {
                    present = level > plan.Fault;
                    shadowRefs++;
                    t.Served.Add(Machine.Caches.Data(a.Vcpu, HostAddress.ShadowEntry(_planPages[level], Pte.Index(a.Va, level))));
                }

                Count(t, shadowRefs);
                bool hwWrite = present && (_store.Page(_planPages[1]).E[Pte.Index(a.Va, 1)] & SEntry.HwWrite) != 0;
                if (!present || (a.Kind == AccessKind.Write && !hwWrite))
                {
                    if (present)
                    {
                        Stats.Count(CDirtyFaults);
                    }

                    if (HiddenFault(a, v) is { } reflected)
                    {
                        return reflected;
                    }

                    continue;
                }

                var hw = hwWrite ? w.Perms : w.Perms & ~Perms.Write;
                v.Tlb.InsertSplintered(a.Va, v.Pcid, a.Kind, w.PageShift, w.PageBase, Pte.PageShift, hw, w.Perms, dirty: true, w.Global);
                return new Translation(w.FrameOf(a.Va), w.Perms, false);
            }

            // Nested below the switch: the data gpa goes through the nested dimension too.
            ulong frame = w.FrameOf(a.Va);
            bool mapped = n.Translate(frame, ref t);
            Count(t, shadowRefs);
            if (!mapped)
            {
                Violation(v, frame, a.Va, isData: true);
                continue;
            }

            v.Tlb.InsertSplintered(a.Va, v.Pcid, a.Kind, w.PageShift, w.PageBase, _nested.PageShift, w.Perms, w.Perms, w.Dirty, w.Global);
            return new Translation(frame, w.Perms, false);
        }
    }

    public void TableDying(in TableDying hint)
    {
        // KVM, whose shadow MMU the paper's prototype extends, ignores the hint.
    }

    /// <summary>
    /// The shadow part of the walk of <paramref name="va"/>, read from the shadow structure (the hardware's view):
    /// which level the walk switches at and where a shadow entry is missing. Fills <see cref="_planPages"/> with the
    /// shadow page read at each shadow level, splinter pages included.
    /// </summary>
    private WalkPlan Plan(int vcpu, ulong va)
    {
        var root = _roots[vcpu];
        if (root is null)
        {
            // A vCPU that has not loaded CR3 in the trace runs on the root it started with.
            ulong gfn = Machine.Vcpus[vcpu].Cr3 >> Pte.PageShift;
            if (PageOf(gfn).Nested)
            {
                return new WalkPlan(Levels, 0);
            }

            EnsureRoot(vcpu, gfn);
            UpdatePages();
            root = _roots[vcpu]!;
        }

        var page = root;
        for (int level = Levels; ; level--)
        {
            _planPages[level] = page.Id;
            ulong e = page.E[Pte.Index(va, level)];
            if ((e & SEntry.Present) == 0)
            {
                return new WalkPlan(0, level);
            }

            if ((e & AgileEntry.Switch) != 0)
            {
                return new WalkPlan(level - 1, 0);
            }

            if (level == 1)
            {
                return new WalkPlan(0, 0);
            }

            page = _store.Page(SEntry.Child(e));
        }
    }

    /// <summary>
    /// A guest page fault the hardware walk found. In the nested part of a walk the #PF goes straight to the guest,
    /// as under nested paging; on an all-shadow walk it is a #PF exit, and the VMM's walk of the guest tables finds
    /// the fault is the guest's and reflects it.
    /// </summary>
    private Translation GuestFault(in MemoryAccess a, WalkPlan plan)
    {
        Stats.GuestFaults++;
        if (plan.Switch == 0)
        {
            Stats.Exit(GuestPfReflect);
        }
        else
        {
            Stats.Count(CNativeGuestFaults);
        }

        return Translation.GuestFault;
    }

    /// <summary>An EPT violation (as for <c>ept</c>): map the gpa, drop what the SDM says a violation invalidates, restart.</summary>
    private void Violation(VcpuState v, ulong gpa, ulong va, bool isData)
    {
        int created = _nested.Violation(v, gpa, va, isData);
        Stats.Exit(EptFill, created);
        Stats.ShadowPagesCreated += created;
        UpdatePages();
    }

    private void Count(in WalkTally t, int shadowRefs)
    {
        t.AddTo(Stats, _tally);
        Stats.Counters[_shadowRefs] += shadowRefs;
    }

    private void UpdatePages() => Stats.SetShadowPages(_store.Live + _nested.Pages);
}

/// <summary>
/// The shadow part of one walk: <see cref="Switch"/> is the level of the first guest table read in nested mode (0:
/// none, the walk is all shadow; the root's level: the whole walk is nested); <see cref="Fault"/> the level of the
/// first missing shadow entry (0: none).
/// </summary>
internal readonly record struct WalkPlan(int Switch, int Fault);

/// <summary>Shadow entry bits agile paging adds to <see cref="SEntry"/>'s.</summary>
internal static class AgileEntry
{
    /// <summary>The switch bit: the walk continues in the guest table whose frame bits 51:12 hold, in nested mode.</summary>
    public const ulong Switch = 1UL << 11;

    public static ulong SwitchTo(ulong gfn) => (gfn << Pte.PageShift) | Switch | SEntry.Present;
}
