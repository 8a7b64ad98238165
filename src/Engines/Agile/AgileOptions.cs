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
    // Declared once: each handle reads its validated value back in From (the list first: statics initialise in order).
    private static readonly OptionList Options = new();
    private static readonly IntOption NestedWritesOption = Options.Int("nested_writes", "2",
        "Trapped writes to one shadow-mode page-table page within an interval that move it to nested mode (agile paging's 'frequently written').", min: 1, max: 1 << 20);
    private static readonly IntOption IntervalOption = Options.Int("interval", "100000",
        "Policy interval in events: at each boundary nested pages whose dirty bit stayed clear return to shadow mode.", min: 1, max: int.MaxValue);
    private static readonly BoolOption NewNestedOption = Options.Bool("new_nested", true,
        "Processes created during the trace (root written before its first CR3 load) start in nested mode.");
    private static readonly IntOption PrefetchOption = Options.Int("prefetch", "8",
        "Aligned block of leaf entries filled with each hidden fault (KVM PTE_PREFETCH_NUM); 1 = none.", min: 1, max: 512);
    private static readonly IntOption EptLevelsOption = Options.Int("ept_levels", "4", "Levels of the nested (EPT) dimension (4 or 5).", min: 4, max: 5);
    private static readonly IntOption Cr3TargetsOption = Options.Int("cr3_targets", "0",
        "Not in the paper: nested roots listed as VT-x CR3-target values, whose CR3 loads do not exit (0 = every CR3 load exits).", max: 4);
    private static readonly IntOption NestedCr3LoadsOption = Options.Int("nested_cr3_loads", "64",
        "With cr3_targets: CR3 loads of one root within an interval that move it to nested mode.", min: 1, max: 1 << 20);

    /// <summary>The registry's option list, defaults as above.</summary>
    public static IReadOnlyList<EngineOption> Declared => Options.All;

    public static AgileOptions From(EngineOptions o) =>
        new(NestedWritesOption.Of(o), IntervalOption.Of(o), NewNestedOption.Of(o), PrefetchOption.Of(o), EptLevelsOption.Of(o),
            Cr3TargetsOption.Of(o), NestedCr3LoadsOption.Of(o));
}
