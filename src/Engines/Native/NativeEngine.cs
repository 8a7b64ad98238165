using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Hardware;

namespace Replay.Engines.Native;

/// <summary>
/// No virtualization: the baseline every overhead is measured against (SPEC §3). Guest faults are the guest's
/// own; a TLB miss is a 1-D walk of the guest tables, shortened by the paging-structure caches. No exits.
/// </summary>
[GenerateHooks]
public sealed partial class NativeEngine : IMmuEngine
{
    /// <summary>The baseline's name: every report measures overheads against the engine of this name.</summary>
    public const string Name = "native";

    /// <summary>The engine's declarations; a class of their own, so they are complete before the descriptor reads them.</summary>
    private static class Declared
    {
        // No options, and no exit kinds: nothing exits without a hypervisor.
        public static readonly OptionList Options = new();
        public static readonly ExitKindList Kinds = new();

        public static readonly CounterList Counters = new();
        public static readonly CounterHandle Rewalk = Counters.Add("tlb_permission_rewalks");
    }

    public static readonly EngineDescriptor Descriptor = new(
        Name,
        "No virtualization: the guest's tables are walked by hardware; the baseline for every overhead.",
        Declared.Options.All,
        (config, _) => new NativeEngine(config))
    {
        ExitKinds = Declared.Kinds.All,
    };

    public NativeEngine(MachineConfig config)
    {
        Machine = new GuestMachine(config);
        Stats = new EngineStats(ExitKinds.Count, CounterNames.Count);
    }

    public IReadOnlyList<ExitKind> ExitKinds => Declared.Kinds.All;

    public IReadOnlyList<string> CounterNames => Declared.Counters.All;

    public EngineStats Stats { get; }

    public void Run(Trace.EventBatch batch, int start, int end, bool verify) => ReplayLoop.Run(new Hooks(this), batch, start, end, verify);

    public GuestMachine Machine { get; }

    public Translation Access(in MemoryAccess access) => HardwareMmu.Translate(Machine, Stats, access, permissionRewalkCounter: Declared.Rewalk.Index);

    public void LoadCr3(in Cr3Load load) => HardwareMmu.LoadCr3(Machine, load);

    public void WritePageTable(in PageTableWrite write) => Machine.Memory.Store(write.Pa, write.Value, write.Width);

    public void Invalidate(in Invalidation inv) => HardwareMmu.Invalidate(Machine, inv);

    public void TableDying(in TableDying hint)
    {
        // Native hardware has no use for the hint.
    }
}
