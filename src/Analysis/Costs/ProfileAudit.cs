using System.Text.Json;
using Replay.Engines.Contract;

namespace Replay.Analysis.Costs;

/// <summary>
/// Checks that a profile says where each number comes from (SPEC §4): every numeric leaf has a <c>sources</c>
/// entry under its dotted path (a TLB array is one entry, e.g. <c>tlb.l1d_4k</c>), every source carries a
/// <c>[pub]</c>, <c>[src]</c> or <c>[est]</c> mark (REFERENCES.md's firmness labels), and no source names a
/// number the profile does not have.
/// </summary>
public static class ProfileAudit
{
    private static readonly string[] Labels = ["[pub]", "[src]", "[est]"];

    /// <summary>One sentence per problem; empty when the profile is fully sourced.</summary>
    public static IReadOnlyList<string> Problems(CostProfile profile)
    {
        using var doc = JsonDocument.Parse(profile.Json, new JsonDocumentOptions
        {
            AllowTrailingCommas = true,
            CommentHandling = JsonCommentHandling.Skip,
        });
        var sourced = new List<string>();
        foreach (var p in doc.RootElement.EnumerateObject().Where(p => p.Name is not ("sources" or "name" or "description")))
        {
            CollectSourced(p.Value, p.Name, sourced);
        }

        var problems = new List<string>();
        problems.AddRange(sourced.Where(path => !profile.Sources.ContainsKey(path))
            .Select(path => $"'{path}' has no entry in sources."));
        problems.AddRange(profile.Sources
            .Where(s => !Labels.Any(l => s.Value.Contains(l, StringComparison.Ordinal)))
            .Select(s => $"sources['{s.Key}'] carries no [pub], [src] or [est] mark."));
        var known = sourced.ToHashSet(StringComparer.Ordinal);
        problems.AddRange(profile.Sources.Keys.Where(k => !known.Contains(k) && !IsNullTlbArray(doc.RootElement, k))
            .Select(k => $"sources['{k}'] names no number in the profile."));
        return problems;
    }

    /// <summary>
    /// The handlers of <paramref name="engines"/>' declared exit kinds (<see cref="EngineDescriptor.ExitKinds"/>) that
    /// <paramref name="profile"/> does not price, one sentence each naming the engine and the handler; empty when the
    /// profile can price every run of those engines. The CLI checks the built-in registry; a test may pass its own.
    /// </summary>
    public static IReadOnlyList<string> Unpriced(CostProfile profile, IEnumerable<EngineDescriptor> engines) =>
        engines.SelectMany(d => d.ExitKinds.Select(k => (d.Name, k.Handler)))
            .Distinct()
            .Where(x => !profile.Handlers.ContainsKey(x.Handler))
            .Select(x => $"Profile '{profile.Name}' does not price handler '{x.Handler}' of engine '{x.Name}'.")
            .ToList();

    /// <summary>
    /// Paths that need a source: numeric leaves, with a TLB array (an object with <c>entries</c>) or a cache level
    /// (an object with <c>kib</c>) counted once.
    /// </summary>
    private static void CollectSourced(JsonElement e, string path, List<string> into)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                into.Add(path);
                break;
            case JsonValueKind.Object when e.TryGetProperty("entries", out _) || e.TryGetProperty("kib", out _):
                into.Add(path);
                break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    CollectSourced(p.Value, $"{path}.{p.Name}", into);
                }

                break;
        }
    }

    /// <summary>A source may explain why a TLB array or a cache level is absent (<c>"tlb.l1d_1g": null</c>, <c>"cache.l3": null</c>).</summary>
    private static bool IsNullTlbArray(JsonElement root, string key)
    {
        int dot = key.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
            && key[..dot] is "tlb" or "cache"
            && root.TryGetProperty(key[..dot], out var section)
            && section.ValueKind == JsonValueKind.Object
            && section.TryGetProperty(key[(dot + 1)..], out var a)
            && a.ValueKind == JsonValueKind.Null;
    }
}
