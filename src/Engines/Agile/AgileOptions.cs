using Replay.Engines.Contract;

namespace Replay.Engines.Agile;

/// <summary>
/// Options of <see cref="AgileEngine"/> (SPEC §3 <c>agile</c>). The VMM policy is that of Gandhi, Hill and Swift,
/// "Agile Paging", ISCA 2016, §IV (REFERENCES §6.1): pages start in shadow mode; a page whose writes exit often goes
/// nested; a nested page whose dirty bit stays clear over an interval returns to shadow mode; new (short-lived)
/// processes start nested.
/// </summary>
/// <param name="NestedWrites">
/// Emulated writes to one shadow-mode page-table page within one interval that move it to nested mode. [est] The paper
/// moves a page that is written "frequently"; 2 means a page is converted on its second trapped write in an
/// interval, so a page written once (one demand fault) stays shadowed while every multi-write page (fork, exit,
/// mmap bursts) stops exiting.
/// </param>
/// <param name="Interval">
/// Length of the policy interval in trace events: at each boundary the VMM scans the dirty bits of the nested pages
/// (their EPT mappings' D bits) and returns the clean ones to shadow mode. [est] The paper's interval is wall-clock
/// time; engines see no time (SPEC §1 makes <c>time</c> optional), so it is counted in events.
/// </param>
/// <param name="NewNested">
/// A process created during the trace (its root table was written by <c>ptwrite</c>s before its first CR3 load: a
/// fork or exec) starts in nested mode: its root, hence its whole walk, is nested until an interval finds the root
/// clean. Processes that already existed when recording began (roots built by <c>ptinit</c> only) start in shadow mode.
/// </param>
/// <param name="Prefetch">Leaf entries filled with each hidden fault: the aligned block of this many (KVM <c>PTE_PREFETCH_NUM</c>, 8); 1 = none.</param>
/// <param name="EptLevels">Levels of the nested (EPT) dimension, 4 or 5.</param>
/// <param name="Cr3Targets">
/// Not in the paper (0, the default, leaves every CR3 load an exit, as the paper's shadow mode has it): the VMM lists up
/// to this many nested roots as VT-x CR3-target values (Intel SDM Vol. 3C §25.1.3: a MOV to CR3 whose operand is one of
/// the CR3-target values does not exit; processors support 4), so a process running on a nested root switches in
/// without an exit, and a root loaded <see cref="NestedCr3Loads"/> times in an interval goes nested.
/// </param>
/// <param name="NestedCr3Loads">With <see cref="Cr3Targets"/>: CR3 loads of one root within an interval that move it to nested mode. [est]</param>
public sealed record AgileOptions(int NestedWrites = 2, int Interval = 100_000, bool NewNested = true, int Prefetch = 8, int EptLevels = 4,
    int Cr3Targets = 0, int NestedCr3Loads = 64)
{
    /// <summary>The registry's option list, defaults as above.</summary>
    public static IReadOnlyList<EngineOption> Declared { get; } =
    [
        new EngineOption("nested_writes", OptionKind.Int, "2",
            "Trapped writes to one shadow-mode page-table page within an interval that move it to nested mode (agile paging's 'frequently written').", Min: 1, Max: 1 << 20),
        new EngineOption("interval", OptionKind.Int, "100000",
            "Policy interval in events: at each boundary nested pages whose dirty bit stayed clear return to shadow mode.", Min: 1, Max: int.MaxValue),
        new EngineOption("new_nested", OptionKind.Bool, "true",
            "Processes created during the trace (root written before its first CR3 load) start in nested mode."),
        new EngineOption("prefetch", OptionKind.Int, "8", "Aligned block of leaf entries filled with each hidden fault (KVM PTE_PREFETCH_NUM); 1 = none.", Min: 1, Max: 512),
        new EngineOption("ept_levels", OptionKind.Int, "4", "Levels of the nested (EPT) dimension (4 or 5).", Min: 4, Max: 5),
        new EngineOption("cr3_targets", OptionKind.Int, "0",
            "Not in the paper: nested roots listed as VT-x CR3-target values, whose CR3 loads do not exit (0 = every CR3 load exits).", Max: 4),
        new EngineOption("nested_cr3_loads", OptionKind.Int, "64",
            "With cr3_targets: CR3 loads of one root within an interval that move it to nested mode.", Min: 1, Max: 1 << 20),
    ];

    public static AgileOptions From(EngineOptions o) =>
        new(o.GetInt("nested_writes"), o.GetInt("interval"), o.GetBool("new_nested"), o.GetInt("prefetch"), o.GetInt("ept_levels"),
            o.GetInt("cr3_targets"), o.GetInt("nested_cr3_loads"));
}
