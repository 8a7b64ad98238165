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

    /// <summary>The registry's option declarations.</summary>
    public static IReadOnlyList<EngineOption> Declared { get; } =
    [
        new EngineOption("shadow", OptionKind.Choice, "xen",
            "Whose shadow machinery runs shadow mode, with its defaults (as shadow-cached's personality): xen (refuses 5-level traces and hides PCID for the whole run) or kvm.", ["xen", "kvm"]),
        new EngineOption("start", OptionKind.Choice, "nested", "The mode the VM boots in: nested (EPT) or shadow.", ["nested", "shadow"]),
        new EngineOption("interval", OptionKind.Int, DefaultInterval.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "Trace rows per sampling interval; the mode changes only between intervals.", Min: 1),
        new EngineOption("tlb_threshold", OptionKind.Int, DefaultTlbThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "TLB misses per 1000 accesses at or above which the next interval runs under shadow paging (unless the fault rate is high).", Max: 1000),
        new EngineOption("fault_threshold", OptionKind.Int, DefaultFaultThreshold.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "Guest page faults + page-table writes + CR3 loads + invalidations (the events that exit only under shadow paging) per 1000 accesses at or above which the next interval runs under nested paging.", Min: 1, Max: 1000),
        new EngineOption("hold", OptionKind.Int, DefaultHold.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "Consecutive intervals that must vote for the other mode before the VM switches (1 = switch at the first).", Min: 1, Max: 1000),
    ];

    /// <summary>Resolves the registry's option values.</summary>
    public static HybridOptions From(EngineOptions o) => new(
        o.Get("shadow") == "kvm" ? Personality.Kvm : Personality.Xen,
        o.Get("start") == "shadow" ? PagingMode.Shadow : PagingMode.Nested,
        o.GetInt("interval"),
        o.GetInt("tlb_threshold"),
        o.GetInt("fault_threshold"),
        o.GetInt("hold"));
}
