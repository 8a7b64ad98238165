using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Nested;
using Replay.Engines.Parts.Shadow;
using Replay.Engines.Trace;

namespace Replay.Engines.Hybrid;

/// <summary>
/// Selective hardware/software memory virtualization (Wang, Zang, Wang, Luo, Li, VEE 2011; SPEC §3 <c>hybrid</c>): the
/// VM runs under nested paging (the <c>ept</c> machinery) or shadow paging (the <c>shadow-cached</c> machinery) and the
/// VMM re-chooses the mode at the end of every sampling interval from the measured TLB-miss and guest-fault rates
/// (<see cref="HybridPolicy"/>). Both parts replay on one <see cref="GuestMachine"/>, so guest memory and its A/D bits
/// evolve once, and count into one <see cref="EngineStats"/>: shadow-cached's exit kinds and counters first, then
/// ept's, then the switches'.
/// <para>
/// A switch costs what it costs a hypervisor. To shadow: every vCPU is kicked out (an exit each,
/// <c>hybrid_to_shadow</c>, units = shadow pages its root needed) and its TLB flushed; the shadows start from empty,
/// so every translation the guest uses faults in again through ordinary <c>shadow_fill</c> exits and every guest
/// table is write-protected afresh. To nested: every vCPU is kicked out (<c>hybrid_to_nested</c>; units on the first
/// = shadow pages torn down, Xen's <c>shadow_teardown</c>) and the TLB and the cached guest-physical mappings are
/// flushed (INVEPT). The EPT is kept across shadow intervals, not rebuilt: it is the domain's p2m, which Xen keeps
/// for the domain's lifetime in either mode (the shadow code itself translates gfn → mfn through it), so nothing
/// in it is stale after a shadow interval; frames first touched under shadow paging get their EPT entries by EPT
/// violations once nested paging resumes.
/// </para>
/// <para>
/// With <c>shadow=xen</c> the guest is booted as Xen boots a guest that may run under shadow paging: without PCID
/// (Xen offers PCID only to HAP guests) for the whole run, and a 5-level trace is refused.
/// </para>
/// </summary>
public sealed class HybridEngine : IMmuEngine
{
    /// <summary>The engine's declarations; a class of their own, so they are complete before the descriptor reads them.</summary>
    private static class Declared
    {
        // Exit kinds: the shadow part's, then the nested part's, then the mode switches. A switch runs in the exit the
        // VMM's sampling timer interrupt causes on the deciding vCPU, and in the exits its IPIs cause on the others.
        public static readonly ExitKindList Kinds = new();
        public static readonly int ShadowKinds = Kinds.Include(Parts.Shadow.ShadowKinds.Kinds);
        public static readonly int NestedKinds = Kinds.Include(NestedPaging.Kinds);
        public static readonly ExitHandle ToShadow = Kinds.Add(ExitReason.ExternalInterrupt, "hybrid_to_shadow");
        public static readonly ExitHandle ToNested = Kinds.Add(ExitReason.ExternalInterrupt, "hybrid_to_nested");

        // The engine's own counters, after the two parts' (whose number depends on the shadow personality).
        public static readonly CounterList Counters = new();
        public static readonly CounterHandle CSwitches = Counters.Add("hybrid_switches");
        public static readonly CounterHandle CToShadow = Counters.Add("hybrid_to_shadow");
        public static readonly CounterHandle CToNested = Counters.Add("hybrid_to_nested");
        public static readonly CounterHandle CEventsNested = Counters.Add("hybrid_events_nested");
        public static readonly CounterHandle CEventsShadow = Counters.Add("hybrid_events_shadow");
        public static readonly CounterHandle CInstructionsNested = Counters.Add("hybrid_instructions_nested");
        public static readonly CounterHandle CInstructionsShadow = Counters.Add("hybrid_instructions_shadow");
        public static readonly CounterHandle CIntervalsNested = Counters.Add("hybrid_intervals_nested");
        public static readonly CounterHandle CIntervalsShadow = Counters.Add("hybrid_intervals_shadow");
    }

    public static readonly EngineDescriptor Descriptor = new(
        "hybrid",
        "Selective switching (Wang et al., VEE 2011): the VM runs under nested (EPT) or shadow paging, re-chosen every interval from the TLB-miss and guest-fault rates.",
        HybridOptions.Declared,
        (config, o) => new HybridEngine(config, HybridOptions.From(o)))
    {
        ExitKinds = Declared.Kinds.All,
        CannotReplay = (config, o) => ShadowOptions.CannotReplay(HybridOptions.From(o).Personality, config),
    };

    // A per-mode counter: the nested one, or the shadow one right after it (PagingMode.Nested = 0, Shadow = 1).
    private int PerMode(CounterHandle nested) => nested.At(_own) + (int)Mode;

    private readonly HybridOptions _o;
    private readonly HybridSwitcher _switcher;
    private readonly ShadowOptions _shadowOptions;
    private readonly bool _pcidHidden;
    private readonly NestedPaging _nested;
    private readonly string[] _counterNames;
    private readonly int _own;
    private ShadowMmu? _shadow;
    private bool _started;

    // The interval in progress: rows left, and the counts at its start.
    private long _left;
    private bool _inInterval;
    private long _accesses;
    private long _ptWrites;
    private long _cr3Loads;
    private long _invalidations;
    private long _tlbMissesAtStart;
    private long _faultsAtStart;

    /// <summary>Throws <see cref="EngineCannotReplayException"/> for a guest the shadow personality's system never runs.</summary>
    public HybridEngine(MachineConfig config, HybridOptions? options = null)
    {
        _o = options ?? new HybridOptions();
        if (_o.Interval < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The sampling interval is at least one row.");
        }

        _shadowOptions = ShadowOptions.Defaults(_o.Personality, config);
        _pcidHidden = ShadowMmu.HidesPcid(config, _shadowOptions);
        Machine = new GuestMachine(ShadowMmu.MachineFor(config, _shadowOptions));
        var shadowCounters = ShadowMmu.CounterNamesFor(_o.Personality);

        // The nested part's counters keep their names unless the shadow part has one of the same name.
        var nestedCounters = NestedPaging.Counters.All.Select(n => shadowCounters.Contains(n) ? $"nested_{n}" : n);
        _counterNames = [.. shadowCounters, .. nestedCounters, .. Declared.Counters.All];
        _own = shadowCounters.Count + NestedPaging.Counters.All.Count;
        Stats = new EngineStats(Declared.Kinds.All.Count, _counterNames.Length);
        _nested = new NestedPaging(Machine, eptLevels: 4, largePages: false, prepopulate: false, Stats, exitBase: Declared.NestedKinds, counterBase: shadowCounters.Count);
        Mode = _o.Start;
        _switcher = new HybridSwitcher(_o);
    }

    /// <summary>The mode the VM runs in now.</summary>
    public PagingMode Mode { get; private set; }

    public HybridOptions Options => _o;

    public IReadOnlyList<ExitKind> ExitKinds => Declared.Kinds.All;

    public IReadOnlyList<string> CounterNames => _counterNames;

    public EngineStats Stats { get; }

    public GuestMachine Machine { get; }

    /// <summary>
    /// Replays [start, end) in runs that never cross an interval boundary, each run through the part of the current
    /// mode (so the loop is specialised per part); at a boundary the policy may switch the mode before the next row.
    /// </summary>
    public void Run(EventBatch batch, int start, int end, bool verify)
    {
        if (!_started)
        {
            Boot();
        }

        var vmExits = Machine.Config.Tlb.Vpid ? null : Stats;
        int i = start;
        while (i < end)
        {
            if (_left == 0)
            {
                if (_inInterval)
                {
                    EndInterval();
                }

                BeginInterval();
            }

            int stop = (int)Math.Min(end, i + _left);
            if (_shadow is { } sh)
            {
                ReplayLoop.Run(new ShadowMmu.Hooks(sh), batch, i, stop, verify, vmExits);
            }
            else
            {
                ReplayLoop.Run(new NestedPaging.Hooks(_nested), batch, i, stop, verify, vmExits);
            }

            Tally(batch, i, stop);
            _left -= stop - i;
            i = stop;
        }
    }

    // Each hook goes to the part of the current mode (the driver's tests call them one event at a time).
    public Translation Access(in MemoryAccess access) => _shadow is { } s ? s.Access(access) : _nested.Access(access);

    public void LoadCr3(in Cr3Load load)
    {
        if (_shadow is { } s)
        {
            s.LoadCr3(load);
        }
        else
        {
            _nested.LoadCr3(load);
        }
    }

    public void WritePageTable(in PageTableWrite write)
    {
        if (_shadow is { } s)
        {
            s.WritePageTable(write);
        }
        else
        {
            _nested.WritePageTable(write);
        }
    }

    public void Invalidate(in Invalidation inv)
    {
        if (_shadow is { } s)
        {
            s.Invalidate(inv);
        }
        else
        {
            _nested.Invalidate(inv);
        }
    }

    public void TableDying(in TableDying hint) => _shadow?.TableDying(hint);

    /// <summary>The domain is created: its p2m (the EPT root) exists in either mode; a shadow boot builds no shadow yet.</summary>
    private void Boot()
    {
        _started = true;
        _nested.Start();
        if (Mode == PagingMode.Shadow)
        {
            _shadow = NewShadow();
        }
    }

    private ShadowMmu NewShadow() => new(Machine, _shadowOptions, Stats, exitBase: Declared.ShadowKinds, counterBase: 0, pagesBase: _nested.Pages, _pcidHidden);

    private void BeginInterval()
    {
        _inInterval = true;
        _left = _o.Interval;
        _accesses = 0;
        _ptWrites = 0;
        _cr3Loads = 0;
        _invalidations = 0;
        _tlbMissesAtStart = Stats.TlbMisses;
        _faultsAtStart = Stats.GuestFaults;
        Stats.Counters[PerMode(Declared.CIntervalsNested)]++;
    }

    private void EndInterval()
    {
        var sample = new IntervalSample(_accesses, Stats.TlbMisses - _tlbMissesAtStart, Stats.GuestFaults - _faultsAtStart, _ptWrites, _cr3Loads, _invalidations);
        var next = _switcher.Next(Mode, sample);
        if (next != Mode)
        {
            Switch(next);
        }
    }

    /// <summary>Counts what the policy and the per-mode counters need from rows [start, end), all replayed in the current mode.</summary>
    private void Tally(EventBatch b, int start, int end)
    {
        var op = b.Op;
        long accesses = 0, ptWrites = 0, fetches = 0, cr3 = 0, invalidations = 0;
        for (int i = start; i < end; i++)
        {
            switch (op[i])
            {
                case (byte)TraceOp.Fetch:
                    fetches++;
                    accesses++;
                    break;
                case (byte)TraceOp.Read:
                case (byte)TraceOp.Write:
                    accesses++;
                    break;
                case (byte)TraceOp.PtWrite:
                    ptWrites++;
                    break;
                case (byte)TraceOp.Cr3:
                    cr3++;
                    break;
                case (byte)TraceOp.Invlpg:
                case (byte)TraceOp.Flush:
                    invalidations++;
                    break;
            }
        }

        _accesses += accesses;
        _ptWrites += ptWrites;
        _cr3Loads += cr3;
        _invalidations += invalidations;
        var c = Stats.Counters;
        c[PerMode(Declared.CEventsNested)] += end - start;
        c[PerMode(Declared.CInstructionsNested)] += fetches + b.SumInsns(start, end);
    }

    private void Switch(PagingMode next)
    {
        var c = Stats.Counters;
        c[Declared.CSwitches.At(_own)]++;
        var vcpus = Machine.Vcpus;
        if (next == PagingMode.Shadow)
        {
            // Shadows from empty: each vCPU's root shadow is built as it enters the mode (sh_update_cr3); everything
            // below it faults in again.
            c[Declared.CToShadow.At(_own)]++;
            FlushTlbs();
            _shadow = NewShadow();
            foreach (var v in vcpus)
            {
                Stats.Exit(Declared.ToShadow, _shadow.AdoptRoot(v.Id));
            }
        }
        else
        {
            // The shadows are torn down whole (write protection goes with them); INVEPT and a TLB flush on every vCPU.
            c[Declared.CToNested.At(_own)]++;
            long freed = _shadow!.LivePages;
            _shadow = null;
            _nested.InvalidateEpt();
            FlushTlbs();
            for (int i = 0; i < vcpus.Length; i++)
            {
                Stats.Exit(Declared.ToNested, i == 0 ? freed : 0);
            }

            Stats.SetShadowPages(_nested.Pages);
        }

        Mode = next;
    }

    /// <summary>A paging-mode change flushes every vCPU's TLB and paging-structure caches (Xen: <c>hvm_asid_flush_vcpu</c>).</summary>
    private void FlushTlbs()
    {
        foreach (var v in Machine.Vcpus)
        {
            v.Tlb.Flush(null, includeGlobal: true);
            v.Psc.FlushAll();
        }
    }
}
