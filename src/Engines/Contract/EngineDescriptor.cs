using Replay.Engines.Guest;

namespace Replay.Engines.Contract;

/// <summary>
/// An engine as the registry knows it: name, description, options, exit kinds, and how to build one. An engine
/// declares it once (a static <c>Descriptor</c>); the CLI, <c>replay engines</c> and the profile audit read it.
/// </summary>
public sealed record EngineDescriptor(string Name, string Description, IReadOnlyList<EngineOption> Options,
    Func<MachineConfig, EngineOptions, IMmuEngine> Create)
{
    /// <summary>
    /// Every exit kind the engine can take, in the order of its <see cref="IMmuEngine.ExitKinds"/> (which it
    /// equals for every configuration), so a profile can be checked to price the engine without building one.
    /// </summary>
    public IReadOnlyList<ExitKind> ExitKinds { get; init; } = [];

    /// <summary>
    /// Why the engine, so configured, cannot replay a trace of this guest machine because the system it models
    /// never runs such a guest (one sentence naming the engine and the reason), or null when it can. Engines
    /// without such limits leave it null. <see cref="Create"/> refuses what this refuses.
    /// </summary>
    public Func<MachineConfig, EngineOptions, string?>? CannotReplay { get; init; }
}
