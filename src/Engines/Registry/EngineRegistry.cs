using Replay.Engines.Ept;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Hybrid;
using Replay.Engines.Native;
using Replay.Engines.ShadowCached;
using Replay.Engines.ShadowFlush;
using Replay.Engines.WritablePt;

namespace Replay.Engines.Registry;

/// <summary>
/// A parsed <c>--engine name:key=value,...</c>. <see cref="CanonicalName"/> is the name followed by its
/// non-default options, keys sorted (SPEC §5), so differently configured runs never collide in reports.
/// </summary>
public sealed record EngineSpec(EngineDescriptor Descriptor, EngineOptions Options, string CanonicalName)
{
    public IMmuEngine Create(MachineConfig config) => Descriptor.Create(config, Options);

    /// <summary>Why this engine cannot replay a trace of <paramref name="config"/> (see <see cref="EngineDescriptor.CannotReplay"/>), or null.</summary>
    public string? CannotReplay(MachineConfig config) => Descriptor.CannotReplay?.Invoke(config, Options);

    public bool IsNative => Descriptor.Name == EngineRegistry.NativeName;
}

/// <summary>
/// The one table of engines: feeds <c>--engine</c> validation, <c>replay engines</c> and the profile audit. It lives
/// outside <c>Contract/</c> so the contract depends on no engine; adding an engine is its folder and one line here.
/// </summary>
public static class EngineRegistry
{
    public const string NativeName = NativeEngine.Name;

    public static IReadOnlyList<EngineDescriptor> All { get; } =
    [
        NativeEngine.Descriptor,
        ShadowFlushEngine.Descriptor,
        ShadowCachedEngine.Descriptor,
        WritablePtEngine.Descriptor,
        EptEngine.Descriptor,
        Agile.AgileEngine.Descriptor,
        HybridEngine.Descriptor,
    ];

    public static EngineDescriptor? Find(string name) => Find(name, All);

    /// <summary>Parses <c>name</c> or <c>name:key=value,key=value</c>; throws <see cref="EngineSpecException"/>.</summary>
    public static EngineSpec Parse(string spec) => Parse(spec, All);

    /// <summary>
    /// Parses <paramref name="spec"/> against <paramref name="engines"/> instead of the built-in table (a test's own
    /// engines, or the built-ins plus some).
    /// </summary>
    public static EngineSpec Parse(string spec, IReadOnlyList<EngineDescriptor> engines)
    {
        int colon = spec.IndexOf(':', StringComparison.Ordinal);
        string name = (colon < 0 ? spec : spec[..colon]).Trim();
        var d = Find(name, engines) ?? throw new EngineSpecException(
            $"Unknown engine '{name}'; valid engines are: {string.Join(", ", engines.Select(e => e.Name))} (or 'all').");
        var values = d.Options.ToDictionary(o => o.Name, o => o.Default, StringComparer.Ordinal);
        if (colon >= 0)
        {
            foreach (var part in spec[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new EngineSpecException($"Engine option '{part}' of '{d.Name}' is not of the form key=value.");
                }

                string key = part[..eq].Trim().ToLowerInvariant();
                var opt = d.Options.FirstOrDefault(o => o.Name == key) ?? throw new EngineSpecException(
                    d.Options.Count == 0
                        ? $"Engine '{d.Name}' takes no options, but '{key}' was given."
                        : $"Engine '{d.Name}' has no option '{key}'; its options are: {string.Join(", ", d.Options.Select(o => o.Name))}.");
                values[key] = opt.Normalize(d.Name, part[(eq + 1)..].Trim());
            }
        }

        var nonDefault = d.Options.Where(o => values[o.Name] != o.Default).Select(o => $"{o.Name}={values[o.Name]}").Order(StringComparer.Ordinal).ToList();
        string canonical = nonDefault.Count == 0 ? d.Name : $"{d.Name}:{string.Join(",", nonDefault)}";
        return new EngineSpec(d, new EngineOptions(values), canonical);
    }

    private static EngineDescriptor? Find(string name, IReadOnlyList<EngineDescriptor> engines) =>
        engines.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The default configuration of every engine (what <c>--engine all</c> means).</summary>
    public static IEnumerable<EngineSpec> AllDefaults() => All.Select(d => Parse(d.Name));
}
