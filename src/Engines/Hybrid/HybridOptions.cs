using Replay.Engines.Contract;
using Replay.Engines.Parts.Shadow;

namespace Replay.Engines.Hybrid;

/// <summary>Options of <see cref="HybridEngine"/> (SPEC §3 <c>hybrid</c>), as <c>replay engines</c> lists them.</summary>
/// <param name="Personality">Whose shadow machinery runs the shadow mode (personality defaults for everything else).</param>
/// <param name="Start">The mode the VM boots in.</param>
/// <param name="Interval">Trace rows per sampling interval; the mode can change only between intervals.</param>
/// <param name="TlbThreshold">TLB misses per 1000 accesses at or above which shadow paging is chosen.</param>
/// <param name="FaultThreshold">
/// Guest page faults, page-table writes, CR3 loads and invalidations per 1000 accesses at or above which nested paging is chosen.
/// </param>
/// <param name="Hold">Consecutive intervals that must vote for the other mode before the VM switches.</param>
public sealed record HybridOptions(Personality Personality = Personality.Xen, PagingMode Start = PagingMode.Nested, int Interval = HybridOptions.DefaultInterval,
    int TlbThreshold = HybridOptions.DefaultTlbThreshold, int FaultThreshold = HybridOptions.DefaultFaultThreshold, int Hold = HybridOptions.DefaultHold)
{
    /// <summary>Default number of consecutive agreeing intervals before a switch (see the README's hybrid section).</summary>
    public const int DefaultHold = 3;

    /// <summary>Default sampling interval in trace rows (see the README's hybrid section for the derivation).</summary>
    public const int DefaultInterval = 10_000;

    /// <summary>Default TLB-miss threshold per 1000 accesses (see the README's hybrid section).</summary>
    public const int DefaultTlbThreshold = 100;

    /// <summary>Default fault threshold (guest faults + page-table writes) per 1000 accesses (see the README's hybrid section).</summary>
    public const int DefaultFaultThreshold = 1;

    // Declared once: each handle reads its validated value back in From (the list first: statics initialise in order).
    private static readonly OptionList Options = new();
    private static readonly ChoiceOption ShadowOption = Options.Choice("shadow", "xen",
        "Whose shadow machinery runs shadow mode, with its defaults (as shadow-cached's personality): xen (refuses 5-level traces and hides PCID for the whole run) or kvm.", ["xen", "kvm"]);
    private static readonly ChoiceOption StartOption = Options.Choice("start", "nested", "The mode the VM boots in: nested (EPT) or shadow.", ["nested", "shadow"]);
    private static readonly IntOption IntervalOption = Options.Int("interval", Text(DefaultInterval),
        "Trace rows per sampling interval; the mode changes only between intervals.", min: 1);
    private static readonly IntOption TlbThresholdOption = Options.Int("tlb_threshold", Text(DefaultTlbThreshold),
        "TLB misses per 1000 accesses at or above which the next interval runs under shadow paging (unless the fault rate is high).", max: 1000);
    private static readonly IntOption FaultThresholdOption = Options.Int("fault_threshold", Text(DefaultFaultThreshold),
        "Guest page faults + page-table writes + CR3 loads + invalidations (the events that exit only under shadow paging) per 1000 accesses at or above which the next interval runs under nested paging.", min: 1, max: 1000);
    private static readonly IntOption HoldOption = Options.Int("hold", Text(DefaultHold),
        "Consecutive intervals that must vote for the other mode before the VM switches (1 = switch at the first).", min: 1, max: 1000);

    /// <summary>The registry's option declarations.</summary>
    public static IReadOnlyList<EngineOption> Declared => Options.All;

    /// <summary>Resolves the registry's option values.</summary>
    public static HybridOptions From(EngineOptions o) => new(
        ShadowOption.Of(o) == "kvm" ? Personality.Kvm : Personality.Xen,
        StartOption.Of(o) == "shadow" ? PagingMode.Shadow : PagingMode.Nested,
        IntervalOption.Of(o),
        TlbThresholdOption.Of(o),
        FaultThresholdOption.Of(o),
        HoldOption.Of(o));

    private static string Text(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
