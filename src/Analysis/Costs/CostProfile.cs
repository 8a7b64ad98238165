using Replay.Engines.Contract;
using Replay.Engines.Tlb;

namespace Replay.Analysis.Costs;

/// <summary>Cycles of one transition into the hypervisor and back, by kind (SPEC §4).</summary>
public sealed record TransitionCosts(double VmExit, double PvTrap, double Hypercall);

/// <summary>
/// Cycles of the page walk's parts (SPEC §4): a reference by where the data caches served it (L1D, L2, L3, memory:
/// the load-to-use latency of that level), a paging-structure-cache hit, and a nested-TLB hit of a 2-D walk.
/// </summary>
public sealed record WalkCosts(double L1, double L2, double L3, double Memory, double PscHit, double NestedTlbHit);

/// <summary>What one handler costs beyond its transition: <see cref="Fixed"/> per exit plus <see cref="PerUnit"/> per work unit.</summary>
public readonly record struct HandlerCost(double Fixed, double PerUnit);

/// <summary>
/// A cost profile (SPEC §4): turns an engine's counts into cycles. Immutable; built by <see cref="ProfileCatalog"/>
/// from a JSON document, whose exact text is kept in <see cref="Json"/> so a report can be re-priced later.
/// Every number carries a source in <see cref="Sources"/>, keyed by its dotted path in the document.
/// </summary>
public sealed class CostProfile
{
    public required string Name { get; init; }

    public required string Description { get; init; }

    public required TransitionCosts Transitions { get; init; }

    /// <summary>Handler costs by handler name (the <see cref="ExitKind.Handler"/> of an exit kind).</summary>
    public required IReadOnlyDictionary<string, HandlerCost> Handlers { get; init; }

    /// <summary>What page-walk references and the walk caches cost.</summary>
    public required WalkCosts Walk { get; init; }

    /// <summary>Everything a guest access (or page-table store) costs besides translation.</summary>
    public required double CyclesPerAccess { get; init; }

    /// <summary>The guest's cost of one instruction that is not an event (the trace's <c>insns</c> column).</summary>
    public required double CyclesPerInsn { get; init; }

    /// <summary>The guest kernel's own page-fault handler, identical under every engine.</summary>
    public required double GuestFaultCycles { get; init; }

    public required TlbGeometry Tlb { get; init; }

    /// <summary>Source of every number, keyed by dotted path (<c>handlers.shadow_fill.fixed</c>, <c>tlb.l1d_4k</c>).</summary>
    public required IReadOnlyDictionary<string, string> Sources { get; init; }

    /// <summary>The profile document exactly as loaded, for report metadata.</summary>
    public required string Json { get; init; }

    public double TransitionCycles(Transition transition) => transition switch
    {
        Transition.VmExit => Transitions.VmExit,
        Transition.PvTrap => Transitions.PvTrap,
        Transition.Hypercall => Transitions.Hypercall,
        Transition.None => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(transition), transition, "Unknown transition."),
    };

    /// <summary>The cost of <paramref name="handler"/>; a handler the profile does not price is an error naming both.</summary>
    public HandlerCost Handler(string handler) =>
        Handlers.TryGetValue(handler, out var cost)
            ? cost
            : throw new ProfileException(
                $"Profile '{Name}' has no cost for handler '{handler}'; add \"handlers\": {{ \"{handler}\": {{ \"fixed\": …, \"per_unit\": … }} }} to it.");

    public override string ToString() => Name;
}
