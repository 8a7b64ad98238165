using Replay.Kernel;

namespace Replay.Gen;

/// <summary>
/// A synthetic guest workload: its name, a one-line description saying what real workload it stands for, its
/// phase markers, and the generator, which drives a <see cref="GuestKernel"/> until it has emitted about the
/// requested number of events. Same seed and options, same trace. <see cref="Pressure"/> is the measured cache
/// pressure of the work it carries in <c>insns</c> (written to the trace's metadata).
/// </summary>
public sealed record Workload(string Name, string Description, IReadOnlyDictionary<ulong, string> Markers,
    Action<GuestKernel, Random, long> Generate)
{
    public Engines.Caches.CachePressure Pressure { get; init; } = Engines.Caches.CachePressure.None;
}

/// <summary>The one table of workloads: feeds <c>replay gen</c>'s allowed values and help.</summary>
public static class Workloads
{
    public static IReadOnlyList<Workload> All { get; } =
    [
        ForkWaitWorkload.Definition,
        KernelBuildWorkload.Definition,
        WebServerWorkload.Definition,
        DatabaseWorkload.Definition,
        CtxSwitchWorkload.Definition,
        DemandWorkload.Definition,
    ];

    public static Workload? Find(string name) =>
        All.FirstOrDefault(w => string.Equals(w.Name, name, StringComparison.OrdinalIgnoreCase));
}
