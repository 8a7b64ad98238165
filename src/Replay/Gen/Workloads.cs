namespace Replay.Gen;

/// <summary>A synthetic guest workload: what real workload it stands for and how to generate it.</summary>
public sealed record Workload(string Name, string Description, IReadOnlyDictionary<ulong, string> Markers,
    Action<GuestBuilder, Random, long> Generate);

/// <summary>The one table of workloads: feeds <c>replay gen</c>'s allowed values and help.</summary>
public static class Workloads
{
    public static IReadOnlyList<Workload> All { get; } = [CtxSwitchWorkload.Definition, DemandWorkload.Definition];

    public static Workload? Find(string name) =>
        All.FirstOrDefault(w => string.Equals(w.Name, name, StringComparison.OrdinalIgnoreCase));
}
