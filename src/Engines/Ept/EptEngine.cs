using Replay.Engines.Caches;
using Replay.Engines.Contract;
using Replay.Engines.Guest;

namespace Replay.Engines.Ept;

/// <summary>
/// Hardware two-dimensional paging (SPEC §3 <c>ept</c>): the guest owns its tables, CR3, INVLPG and page faults
/// outright (none of them exits), and a per-VM EPT maps guest-physical memory. A TLB miss is a 2-D walk: each guest
/// table the walker reads, and the final data gpa, is first translated through the EPT. The first touch of a guest
/// frame (or, with <c>large_pages</c>, a 2 MiB guest-physical region) that the EPT does not map is an EPT violation
/// (<c>EPT_VIOLATION</c>/<c>ept_fill</c>, units = EPT pages created); the hypervisor maps it and the access restarts.
/// EPT pages are reported as this engine's shadow pages. TLB, CR3, INVLPG and flush semantics on the guest TLB
/// are native's (VPID keeps the TLB across exits); the TLB holds combined gva → gpa/hpa translations, each no
/// larger than the EPT page backing it.
/// </summary>
public sealed class EptEngine : IMmuEngine
{
    private static readonly ExitKind[] Kinds = [new(ExitReason.EptViolation, "ept_fill")];

    public static readonly EngineDescriptor Descriptor = new(
        "ept",
        "Hardware two-dimensional paging (EPT): no exits for guest page-table work; TLB misses are 2-D walks.",
        [
            new EngineOption("prepopulate", OptionKind.Bool, "false", "Map all guest memory in the EPT up front, so no EPT violations occur."),
            new EngineOption("ept_levels", OptionKind.Int, "4", "Levels of the EPT (4 or 5).", Min: 4, Max: 5),
            new EngineOption("large_pages", OptionKind.Bool, "false", "The host backs guest memory with 2 MiB pages: EPT leaves at level 2."),
        ],
        (config, o) => new EptEngine(config, new EptOptions(o.GetBool("prepopulate"), o.GetInt("ept_levels"), o.GetBool("large_pages"))))
    {
        ExitKinds = Kinds,
    };

    // Exit kinds.
    private const int EptFill = 0;

    // Counters.
    private const int CViolations = 0;
    private const int CNestedTlbHits = 1;
    private const int CNestedTlbMisses = 2;
    private const int CEptWalkRefs = 3;
    private const int CGuestWalkRefs = 4;
    private const int CEptPscHits = 5;
    private const int CGuestPscHits = 6;
    private const int CRewalk = 7;
    private static readonly string[] Counters =
    [
        "ept_violations", "nested_tlb_hits", "nested_tlb_misses", "ept_walk_refs", "guest_walk_refs",
        "ept_psc_hits", "guest_psc_hits", "tlb_permission_rewalks",
    ];

    private readonly EptMap _ept;
    private readonly NestedMmu[] _nested;
    private readonly EptOptions _options;

    // Where this engine's exit kinds and counters start in Stats (0 unless it is a part of a composed engine).
    private readonly int _k;
    private readonly int _c;
    private bool _started;

    public EptEngine(MachineConfig config, EptOptions? options = null)
        : this(new GuestMachine(config), options ?? new EptOptions(), stats: null, exitBase: 0, counterBase: 0)
    {
    }

    /// <summary>
    /// The nested machinery as a part of another engine (<c>hybrid</c>): it replays on <paramref name="machine"/>, which
    /// the caller owns and shares, and counts into <paramref name="stats"/>, its exit kinds (<see cref="KindList"/>) from
    /// index <paramref name="exitBase"/> and its counters (<see cref="CounterList"/>) from <paramref name="counterBase"/>.
    /// A null <paramref name="stats"/> makes its own.
    /// </summary>
    internal EptEngine(GuestMachine machine, EptOptions options, EngineStats? stats, int exitBase, int counterBase)
    {
        _options = options;
        if (_options.EptLevels is < 4 or > 5)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "EPT has 4 or 5 levels.");
        }

        Machine = machine;
        Stats = stats ?? new EngineStats(Kinds.Length, Counters.Length);
        _k = exitBase;
        _c = counterBase;
        _ept = new EptMap(_options.EptLevels, _options.LargePages);
        _nested = Machine.Vcpus.Select(v => new NestedMmu(machine.Config.Tlb, _ept, Machine.Caches, v.Id)).ToArray();
    }

    /// <summary>The engine's exit kinds, in stats order.</summary>
    internal static IReadOnlyList<ExitKind> KindList => Kinds;

    /// <summary>The engine's counter names, in stats order.</summary>
    internal static IReadOnlyList<string> CounterList => Counters;

    /// <summary>EPT paging-structure pages, the root included.</summary>
    internal long Pages => _ept.Pages;

    /// <summary>
    /// INVEPT (single-context) on every vCPU: drops the cached guest-physical mappings (nested TLB, EPT
    /// paging-structure caches); the caller drops the combined ones with the guest TLB.
    /// </summary>
    internal void InvalidateEpt()
    {
        foreach (var n in _nested)
        {
            n.Flush();
        }
    }

    private enum Outcome
    {
        Translated,
        GuestFault,
        Violation,
    }

    public IReadOnlyList<ExitKind> ExitKinds => Kinds;

    public IReadOnlyList<string> CounterNames => Counters;

    public EngineStats Stats { get; }

    public GuestMachine Machine { get; }

    public void Run(Trace.EventBatch batch, int start, int end, bool verify)
    {
        Start();
        ReplayLoop.Run(new Hooks(this), batch, start, end, verify, Machine.Config.Tlb.Vpid ? null : Stats);
    }

    public Translation Access(in MemoryAccess access)
    {
        var a = access;
        if (HardwareMmu.TryTlbHit(Machine, Stats, a, _c + CRewalk, out var hit))
        {
            return hit;
        }

        var v = Machine.Vcpus[a.Vcpu];
        var n = _nested[a.Vcpu];
        while (true)
        {
            // The guest dimension is PageWalker's walk; the hook translates each guest table's gpa first.
            var tables = new NestedTables(n, Machine.Caches, a.Vcpu);
            var w = PageWalker.Walk(Machine.Memory, v.Cr3, a.Va, a.Kind, a.User, Machine.Levels, setAccessedDirty: true, v.Psc, v.Pcid, ref tables);
            var t = tables.Tally;
            t.GuestRefs += w.Refs;
            if (w.PscHit)
            {
                Stats.PscHits++;
                Stats.Counters[_c + CGuestPscHits]++;
            }

            var outcome = w.Stopped ? Outcome.Violation : w.Fault ? Outcome.GuestFault : Outcome.Translated;
            ulong faultGpa = w.StoppedAt;
            bool dataViolation = outcome == Outcome.Translated && !n.Translate(w.FrameOf(a.Va), ref t);
            if (dataViolation)
            {
                outcome = Outcome.Violation;
                faultGpa = w.FrameOf(a.Va);
            }

            Count(t);
            switch (outcome)
            {
                case Outcome.GuestFault:
                    Stats.GuestFaults++;
                    return Translation.GuestFault;
                case Outcome.Violation:
                    // The access restarts after the exit and walks again from its TLB miss.
                    Violation(v, n, faultGpa, a.Va, dataViolation);
                    continue;
            }

            v.Tlb.InsertSplintered(a.Va, v.Pcid, a.Kind, w.PageShift, w.PageBase, _ept.PageShift, w.Perms, w.Perms, w.Dirty, w.Global);
            return new Translation(w.FrameOf(a.Va), w.Perms, false);
        }
    }

    public void LoadCr3(in Cr3Load load) => HardwareMmu.LoadCr3(Machine, load);

    public void WritePageTable(in PageTableWrite write) => Machine.Memory.Store(write.Pa, write.Value, write.Width);

    public void Invalidate(in Invalidation inv) => HardwareMmu.Invalidate(Machine, inv);

    public void TableDying(in TableDying hint)
    {
        // The guest's tables are its own business under EPT.
    }

    /// <summary>Builds the EPT root (and with <c>prepopulate</c> the whole map) before the first event; later calls do nothing.</summary>
    internal void Start()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        long built = 1 + (_options.Prepopulate ? _ept.Prepopulate(Machine.Config.MemoryBytes) : 0);
        Stats.ShadowPagesCreated += built;
        Stats.SetShadowPages(_ept.Pages);
    }

    /// <summary>
    /// An EPT violation: exit, map the gpa (creating EPT pages), and drop the cached mappings the SDM says a
    /// violation invalidates: guest-physical ones for that gpa and, when it was the data access's own gpa,
    /// combined ones for the va.
    /// </summary>
    private void Violation(VcpuState v, NestedMmu n, ulong gpa, ulong va, bool isData)
    {
        int created = _ept.Fill(gpa);
        Stats.Exit(_k + EptFill, created);
        Stats.Counters[_c + CViolations]++;
        Stats.ShadowPagesCreated += created;
        Stats.SetShadowPages(_ept.Pages);
        n.InvalidateGpa(gpa);
        if (isData)
        {
            v.Tlb.InvalidatePage(va, v.Pcid);
            v.Psc.InvalidateVa(va, v.Pcid);
        }
    }

    private void Count(in WalkTally t)
    {
        t.Served.AddTo(Stats);
        Stats.PscHits += t.EptPscHits;
        Stats.NestedTlbHits += t.NestedTlbHits;
        var c = Stats.Counters;
        c[_c + CGuestWalkRefs] += t.GuestRefs;
        c[_c + CEptWalkRefs] += t.EptRefs;
        c[_c + CNestedTlbHits] += t.NestedTlbHits;
        c[_c + CNestedTlbMisses] += t.NestedTlbMisses;
        c[_c + CEptPscHits] += t.EptPscHits;
    }

    /// <summary>
    /// Translates each guest table's gpa through the nested MMU before the walker reads it, then reads the guest
    /// entry through the memory hierarchy at its host address (guest memory is identity-mapped).
    /// </summary>
    private struct NestedTables(NestedMmu nested, MemoryHierarchy caches, int vcpu) : IGuestTableAccess
    {
        public WalkTally Tally;

        public bool BeforeRead(ulong tableGpa, ulong entryGpa, int level)
        {
            if (!nested.Translate(tableGpa, ref Tally))
            {
                return false;
            }

            Tally.Served.Add(caches.Data(vcpu, entryGpa));
            return true;
        }
    }

    /// <summary>The engine's hooks for <see cref="ReplayLoop.Run{THooks}"/>; internal so an engine composed of this one runs it directly.</summary>
    internal readonly struct Hooks(EptEngine e) : IEngineHooks
    {
        public GuestMachine Machine => e.Machine;

        public Translation Access(in MemoryAccess access) => e.Access(access);

        public void LoadCr3(in Cr3Load load) => e.LoadCr3(load);

        public void WritePageTable(in PageTableWrite write) => e.WritePageTable(write);

        public void Invalidate(in Invalidation inv) => e.Invalidate(inv);

        public void TableDying(in TableDying hint) => e.TableDying(hint);
    }
}

/// <summary>Options of the <c>ept</c> engine (SPEC §3); defaults as <c>replay engines</c> lists them.</summary>
public sealed record EptOptions(bool Prepopulate = false, int EptLevels = 4, bool LargePages = false);
