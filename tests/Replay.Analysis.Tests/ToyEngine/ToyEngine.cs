using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Hardware;
using Replay.Engines.Trace;

namespace Replay.Analysis.Tests.ToyEngine;

/// <summary>
/// The smallest engine a researcher could add: the guest's own tables walked by hardware (as <c>native</c>), but
/// every CR3 load exits (<c>CR_ACCESS</c>/<c>toy_cr3</c>, option <c>units</c> work units each). Everything it needs
/// from the project is the contract; this folder, a registry entry and its handler cost are all there is to it.
/// </summary>
public sealed class ToyEngine : IMmuEngine
{
    private static readonly ExitKind[] Kinds = [new(ExitReason.CrAccess, "toy_cr3")];

    public static readonly EngineDescriptor Descriptor = new(
        "toy",
        "A toy: native translation, and every CR3 load exits.",
        [new EngineOption("units", OptionKind.Int, "1", "Work units per CR3 exit.", Max: 100)],
        (config, o) => new ToyEngine(config, o.GetInt("units")))
    {
        ExitKinds = Kinds,
    };

    private static readonly string[] Counters = ["tlb_permission_rewalks"];
    private readonly int _units;

    public ToyEngine(MachineConfig config, int units)
    {
        _units = units;
        Machine = new GuestMachine(config);
        Stats = new EngineStats(Kinds.Length, Counters.Length);
    }

    public IReadOnlyList<ExitKind> ExitKinds => Kinds;

    public IReadOnlyList<string> CounterNames => Counters;

    public EngineStats Stats { get; }

    public GuestMachine Machine { get; }

    public void Run(EventBatch batch, int start, int end, bool verify) => ReplayLoop.Run(new Hooks(this), batch, start, end, verify);

    public Translation Access(in MemoryAccess access) => HardwareMmu.Translate(Machine, Stats, access, permissionRewalkCounter: 0);

    public void LoadCr3(in Cr3Load load)
    {
        HardwareMmu.LoadCr3(Machine, load);
        Stats.Exit(0, _units);
    }

    public void WritePageTable(in PageTableWrite write) => Machine.Memory.Store(write.Pa, write.Value, write.Width);

    public void Invalidate(in Invalidation inv) => HardwareMmu.Invalidate(Machine, inv);

    public void TableDying(in TableDying hint)
    {
    }

    private readonly struct Hooks(ToyEngine e) : IEngineHooks
    {
        public GuestMachine Machine => e.Machine;

        public Translation Access(in MemoryAccess access) => e.Access(access);

        public void LoadCr3(in Cr3Load load) => e.LoadCr3(load);

        public void WritePageTable(in PageTableWrite write) => e.WritePageTable(write);

        public void Invalidate(in Invalidation inv) => e.Invalidate(inv);

        public void TableDying(in TableDying hint) => e.TableDying(hint);
    }
}
