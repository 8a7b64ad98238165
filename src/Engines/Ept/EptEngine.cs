using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Nested;

namespace Replay.Engines.Ept;

/// <summary>
/// Hardware two-dimensional paging (SPEC §3 <c>ept</c>): the <see cref="NestedPaging"/> part alone, on its own guest
/// machine. The guest owns its tables, CR3, INVLPG and page faults outright (none of them exits), and a per-VM EPT
/// maps guest-physical memory; a TLB miss is a 2-D walk, and the first touch of an unmapped guest frame is an EPT
/// violation (<c>EPT_VIOLATION</c>/<c>ept_fill</c>).
/// </summary>
public sealed class EptEngine : IMmuEngine
{
    /// <summary>The engine's declarations; a class of their own, so they are complete before the descriptor reads them.</summary>
    private static class Declared
    {
        public static readonly OptionList Options = new();
        public static readonly BoolOption Prepopulate = Options.Bool("prepopulate", false, "Map all guest memory in the EPT up front, so no EPT violations occur.");
        public static readonly IntOption EptLevels = Options.Int("ept_levels", "4", "Levels of the EPT (4 or 5).", min: 4, max: 5);
        public static readonly BoolOption LargePages = Options.Bool("large_pages", false, "The host backs guest memory with 2 MiB pages: EPT leaves at level 2.");

        public static readonly ExitKindList Kinds = new();
        public static readonly int NestedKinds = Kinds.Include(NestedPaging.Kinds);

        public static readonly CounterList Counters = new();
        public static readonly int NestedCounters = Counters.Include(NestedPaging.Counters.All);
    }

    public static readonly EngineDescriptor Descriptor = new(
        "ept",
        "Hardware two-dimensional paging (EPT): no exits for guest page-table work; TLB misses are 2-D walks.",
        Declared.Options.All,
        (config, o) => new EptEngine(config, new EptOptions(Declared.Prepopulate.Of(o), Declared.EptLevels.Of(o), Declared.LargePages.Of(o))))
    {
        ExitKinds = Declared.Kinds.All,
    };

    private readonly NestedPaging _nested;

    public EptEngine(MachineConfig config, EptOptions? options = null)
    {
        var o = options ?? new EptOptions();
        Machine = new GuestMachine(config);
        Stats = new EngineStats(ExitKinds.Count, CounterNames.Count);
        _nested = new NestedPaging(Machine, o.EptLevels, o.LargePages, o.Prepopulate, Stats, Declared.NestedKinds, Declared.NestedCounters);
    }

    public IReadOnlyList<ExitKind> ExitKinds => Declared.Kinds.All;

    public IReadOnlyList<string> CounterNames => Declared.Counters.All;

    public EngineStats Stats { get; }

    public GuestMachine Machine { get; }

    public void Run(Trace.EventBatch batch, int start, int end, bool verify)
    {
        _nested.Start();
        ReplayLoop.Run(new NestedPaging.Hooks(_nested), batch, start, end, verify, Machine.Config.Tlb.Vpid ? null : Stats);
    }

    public Translation Access(in MemoryAccess access) => _nested.Access(access);

    public void LoadCr3(in Cr3Load load) => _nested.LoadCr3(load);

    public void WritePageTable(in PageTableWrite write) => _nested.WritePageTable(write);

    public void Invalidate(in Invalidation inv) => _nested.Invalidate(inv);

    public void TableDying(in TableDying hint)
    {
        // The guest's tables are its own business under EPT.
    }
}

/// <summary>Options of the <c>ept</c> engine (SPEC §3); defaults as <c>replay engines</c> lists them.</summary>
public sealed record EptOptions(bool Prepopulate = false, int EptLevels = 4, bool LargePages = false);
