namespace Replay.Gen.Model;

/// <summary>
/// How a process model draws the accesses it lists in the trace. A listed access stands for a run of
/// <see cref="InsnsPerAccess"/> instructions whose other memory operands hit pages the TLB already holds (carried in
/// the trace's <c>insns</c>, so they cost guest time but change no translation state). Each access is an instruction
/// fetch with probability <see cref="Fetch"/>, else a data access (a store with probability <see cref="Write"/>); it
/// touches a page never touched before with probability <see cref="Grow"/> (a demand fault: text faulting in, a heap
/// growing), a page drawn uniformly from the resident set with probability <see cref="Cold"/> (the accesses that miss
/// the TLBs when the resident set outgrows them), a page of a fixed warm set of <see cref="WarmPages"/> pages (those
/// touched first) with probability <see cref="Warm"/> (a working set a large second-level TLB holds and a small one
/// does not), and otherwise one of the <see cref="Hot"/> most recently touched pages of its kind. The calibration in traces/README.md sets these per workload from measured fault rates and TLB
/// misses per kilo-instruction.
/// </summary>
internal sealed record AccessMix
{
    public required double InsnsPerAccess { get; init; }

    public double Fetch { get; init; }

    public double Write { get; init; } = 0.3;

    public double Cold { get; init; }

    public double Grow { get; init; }

    public double Warm { get; init; }

    public int WarmPages { get; init; } = 1024;

    /// <summary>For fetches, the cold fraction (null: <see cref="Cold"/>).</summary>
    public double? FetchCold { get; init; }

    /// <summary>For fetches, the warm fraction (null: <see cref="Warm"/>).</summary>
    public double? FetchWarm { get; init; }

    /// <summary>For fetches, the warm set's size in text pages (null: <see cref="WarmPages"/>).</summary>
    public int? FetchWarmPages { get; init; }

    public int Hot { get; init; } = 16;
}
