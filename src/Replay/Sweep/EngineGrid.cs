using Replay.Engines.Contract;
using Replay.Engines.Registry;

namespace Replay.Sweep;

/// <summary>
/// Expands one sweep engine entry, <c>NAME[:key=VALUES,...]</c> with <see cref="OptionValues"/> syntax in the values,
/// into the cartesian product of its options (the first option varies slowest), each configuration parsed by
/// <see cref="EngineRegistry.Parse"/> so an unknown engine, option or value is refused before anything runs.
/// <c>all</c> is every engine with its defaults.
/// </summary>
internal static class EngineGrid
{
    /// <summary>The configurations of <paramref name="entry"/>; <paramref name="where"/> names the flag or spec-file entry in errors.</summary>
    public static IReadOnlyList<EngineSpec> Expand(string entry, string where)
    {
        if (string.Equals(entry, "all", StringComparison.OrdinalIgnoreCase))
        {
            return [.. EngineRegistry.AllDefaults()];
        }

        int colon = entry.IndexOf(':', StringComparison.Ordinal);
        string name = colon < 0 ? entry : entry[..colon];
        var axes = new List<(string Key, IReadOnlyList<string> Values)>();
        try
        {
            if (colon >= 0)
            {
                foreach (string part in entry[(colon + 1)..].Split(','))
                {
                    int eq = part.IndexOf('=', StringComparison.Ordinal);
                    if (eq < 0)
                    {
                        throw new EngineSpecException($"Engine option '{part}' of '{name}' is not of the form key=value.");
                    }

                    axes.Add((part[..eq], OptionValues.Expand(part[(eq + 1)..])));
                }
            }

            var specs = new List<EngineSpec>();
            foreach (var combination in Product(axes))
            {
                string spec = combination.Count == 0
                    ? name
                    : name + ":" + string.Join(',', combination.Select(kv => $"{kv.Key}={kv.Value}"));
                var parsed = EngineRegistry.Parse(spec);
                if (!specs.Any(s => s.CanonicalName == parsed.CanonicalName))
                {
                    specs.Add(parsed);
                }
            }

            return specs;
        }
        catch (Exception e) when (e is EngineSpecException or Cli.UsageException)
        {
            throw new SweepUsageException($"{where} '{entry}': {e.Message}");
        }
    }

    private static IEnumerable<List<KeyValuePair<string, string>>> Product(List<(string Key, IReadOnlyList<string> Values)> axes)
    {
        IEnumerable<List<KeyValuePair<string, string>>> acc = [[]];
        foreach (var (key, values) in axes)
        {
            acc = acc.SelectMany(prefix => values.Select(v => new List<KeyValuePair<string, string>>(prefix) { new(key, v) })).ToList();
        }

        return acc;
    }
}

/// <summary>A bad sweep grid (engine, profile, trace or spec file), found before any cell runs: exit 2.</summary>
internal sealed class SweepUsageException(string message) : Exception(message);
