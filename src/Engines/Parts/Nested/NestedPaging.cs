using Replay.Engines.Caches;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Hardware;

namespace Replay.Engines.Parts.Nested;

/// <summary>
/// Hardware two-dimensional paging as a part (what <c>ept</c> is, and what <c>hybrid</c> runs in nested mode): the
/// guest owns its tables, CR3, INVLPG and page faults outright (none of them exits), and a TLB miss is a 2-D walk:
/// each guest table the walker reads, and the final data gpa, is first translated through the
/// <see cref="NestedDimension"/>. The first touch of a guest frame (or, with large pages, a 2 MiB guest-physical
/// region) that the EPT does not map is an EPT violation (<c>EPT_VIOLATION</c>/<c>ept_fill</c>, units = EPT pages
/// created); the hypervisor maps it and the access restarts. EPT pages are reported as shadow pages. TLB, CR3, INVLPG
/// and flush semantics on the guest TLB are native's; the TLB holds combined gva → gpa/hpa translations, each no
/// larger than the EPT page backing it.
/// <para>
/// The part counts into the caller's stats: its exit kinds (<see cref="Kinds"/>) from index <c>exitBase</c>, its
/// counters (<see cref="Counters"/>) from <c>counterBase</c>.
/// </para>
/// </summary>
[GenerateHooks]
internal sealed partial class NestedPaging : IEngineHooks
{
    /// <summary>The part's exit kinds, in stats order.</summary>
    public static readonly ExitKindList Kinds = new();
    private static readonly ExitHandle EptFill = Kinds.Add(ExitReason.EptViolation, "ept_fill");

    /// <summary>The part's counters, in stats order.</summary>
    public static readonly CounterList Counters = new();
    private static readonly CounterHandle CViolations = Counters.Add("ept_violations");
    private static readonly CounterHandle CNestedTlbHits = Counters.Add("nested_tlb_hits");
    private static readonly CounterHandle CNestedTlbMisses = Counters.Add("nested_tlb_misses");
    private static readonly CounterHandle CEptWalkRefs = Counters.Add("ept_walk_refs");
    private static readonly CounterHandle CGuestWalkRefs = Counters.Add("guest_walk_refs");
    private static readonly CounterHandle CEptPscHits = Counters.Add("ept_psc_hits");
    private static readonly CounterHandle CGuestPscHits = Counters.Add("guest_psc_hits");
    private static readonly CounterHandle CRewalk = Counters.Add("tlb_permission_rewalks");

    private readonly NestedDimension _nested;
    private readonly EngineStats _stats;
    private readonly bool _prepopulate;
    private readonly int _fill;
    private readonly int _violations;
    private readonly int _guestPscHits;
    private readonly int _rewalk;
    private readonly TallyCounters _tally;
    private bool _started;

    public NestedPaging(GuestMachine machine, int eptLevels, bool largePages, bool prepopulate, EngineStats stats, int exitBase, int counterBase)
    {
        Machine = machine;
        _nested = new NestedDimension(machine, eptLevels, largePages);
        _prepopulate = prepopulate;
        _stats = stats;
        _fill = EptFill.At(exitBase);
        _violations = CViolations.At(counterBase);
        _guestPscHits = CGuestPscHits.At(counterBase);
        _rewalk = CRewalk.At(counterBase);
        _tally = new TallyCounters(CGuestWalkRefs.At(counterBase), CEptWalkRefs.At(counterBase), CNestedTlbHits.At(counterBase),
            CNestedTlbMisses.At(counterBase), CEptPscHits.At(counterBase));
    }

    public GuestMachine Machine { get; }

    /// <summary>EPT paging-structure pages, the root included.</summary>
    public long Pages => _nested.Pages;

    /// <summary>INVEPT (single-context) on every vCPU (see <see cref="NestedDimension.InvalidateAll"/>).</summary>
    public void InvalidateEpt() => _nested.InvalidateAll();

    /// <summary>Builds the EPT root (and with prepopulation the whole map) before the first event; later calls do nothing.</summary>
    public void Start()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        long built = 1 + (_prepopulate ? _nested.Map.Prepopulate(Machine.Config.MemoryBytes) : 0);
        _stats.ShadowPagesCreated += built;
        _stats.SetShadowPages(_nested.Pages);
    }

    private enum Outcome
    {
        Translated,
        GuestFault,
        Violation,
    }

    public Translation Access(in MemoryAccess access)
    {
        var a = access;
        var stats = _stats;
        if (HardwareMmu.TryTlbHit(Machine, stats, a, _rewalk, out var hit))
        {
            return hit;
        }

        var v = Machine.Vcpus[a.Vcpu];
        var n = _nested.Mmu(a.Vcpu);
        while (true)
        {
            // The guest dimension is PageWalker's walk; the hook translates each guest table's gpa first.
            var tables = new NestedTables(n, Machine.Caches, a.Vcpu);
            var w = PageWalker.Walk(Machine.Memory, v.Cr3, a.Va, a.Kind, a.User, Machine.Levels, setAccessedDirty: true, v.Psc, v.Pcid, ref tables);
            var t = tables.Tally;
            t.GuestRefs += w.Refs;
            if (w.PscHit)
            {
                stats.PscHits++;
                stats.Counters[_guestPscHits]++;
            }

            var outcome = w.Stopped ? Outcome.Violation : w.Fault ? Outcome.GuestFault : Outcome.Translated;
            ulong faultGpa = w.StoppedAt;
            bool dataViolation = outcome == Outcome.Translated && !n.Translate(w.FrameOf(a.Va), ref t);
            if (dataViolation)
            {
                outcome = Outcome.Violation;
                faultGpa = w.FrameOf(a.Va);
            }

            t.AddTo(stats, _tally);
            switch (outcome)
            {
                case Outcome.GuestFault:
                    stats.GuestFaults++;
                    return Translation.GuestFault;
                case Outcome.Violation:
                    // The access restarts after the exit and walks again from its TLB miss.
                    Violation(v, faultGpa, a.Va, dataViolation);
                    continue;
            }

            v.Tlb.InsertSplintered(a.Va, v.Pcid, a.Kind, w.PageShift, w.PageBase, _nested.PageShift, w.Perms, w.Perms, w.Dirty, w.Global);
            return new Translation(w.FrameOf(a.Va), w.Perms, false);
        }
    }

    public void LoadCr3(in Cr3Load load) => HardwareMmu.LoadCr3(Machine, load);

    public void WritePageTable(in PageTableWrite write) => Machine.Memory.Store(write.Pa, write.Value, write.Width);

    public void Invalidate(in Invalidation inv) => HardwareMmu.Invalidate(Machine, inv);

    public void TableDying(in TableDying hint)
    {
        // The guest's tables are its own business under nested paging.
    }

    /// <summary>An EPT violation: exit, map the gpa (creating EPT pages) and drop what the violation invalidates.</summary>
    private void Violation(VcpuState v, ulong gpa, ulong va, bool isData)
    {
        int created = _nested.Violation(v, gpa, va, isData);
        _stats.Exit(_fill, created);
        _stats.Counters[_violations]++;
        _stats.ShadowPagesCreated += created;
        _stats.SetShadowPages(_nested.Pages);
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
}
