using System.Text.Json;
using System.Text.Json.Serialization;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Replay.Sweep;

/// <summary>
/// A grid written down: <c>traces</c>, <c>engines</c>, <c>profiles</c> (lists in the flags' syntax) and the run
/// settings <c>window</c>, <c>verify</c>, <c>strict</c>, <c>skip</c>, <c>warmup</c>, <c>limit</c>; JSON (<c>.json</c>) or YAML (<c>.yaml</c>, <c>.yml</c>).
/// Relative trace and profile paths are relative to the file's folder. An unknown key is an error naming it.
/// </summary>
internal sealed class SweepSpecFile
{
    public List<string> Traces { get; set; } = [];

    public List<string> Engines { get; set; } = [];

    public List<string> Profiles { get; set; } = [];

    public long? Window { get; set; }

    public bool? Verify { get; set; }

    public bool? Strict { get; set; }

    /// <summary>As <c>run --skip</c>: rows whose accesses every cell leaves out.</summary>
    public long? Skip { get; set; }

    /// <summary>As <c>run --warmup</c>.</summary>
    public long? Warmup { get; set; }

    /// <summary>As <c>run --limit</c>.</summary>
    public long? Limit { get; set; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static SweepSpecFile Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new SweepUsageException($"--spec '{path}': no such file.");
        }

        string text = File.ReadAllText(path);
        string ext = Path.GetExtension(path).ToLowerInvariant();
        SweepSpecFile? spec;
        try
        {
            spec = ext switch
            {
                ".json" => JsonSerializer.Deserialize<SweepSpecFile>(text, Json),
                ".yaml" or ".yml" => new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Deserialize<SweepSpecFile>(text),
                _ => throw new SweepUsageException($"--spec '{path}': give a .json, .yaml or .yml file."),
            };
        }
        catch (JsonException e)
        {
            throw new SweepUsageException($"{path}: line {(e.LineNumber ?? 0) + 1}: {e.Message.Split(" Path:")[0]}");
        }
        catch (YamlException e)
        {
            throw new SweepUsageException($"{path}: line {e.Start.Line}, column {e.Start.Column}: {(e.InnerException ?? e).Message}");
        }

        spec ??= new SweepSpecFile();
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        spec.Traces = [.. (spec.Traces ?? []).Select(t => Rooted(t, dir, trace: true))];
        spec.Profiles = [.. (spec.Profiles ?? []).Select(p => Rooted(p, dir, trace: false))];
        spec.Engines ??= [];
        return spec;
    }

    private static string Rooted(string entry, string dir, bool trace)
    {
        if (string.IsNullOrWhiteSpace(entry))
        {
            throw new SweepUsageException($"an empty {(trace ? "trace" : "profile")} entry in the spec file.");
        }

        if (trace ? entry.StartsWith(SweepTraces.GenPrefix, StringComparison.OrdinalIgnoreCase) : !LooksLikePath(entry))
        {
            return entry;
        }

        return Path.IsPathRooted(entry) ? entry : Path.Combine(dir, entry);
    }

    private static bool LooksLikePath(string profile) =>
        profile.Contains('/', StringComparison.Ordinal) || profile.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
}
