using System.Reflection;

namespace Replay.Analysis.Costs;

/// <summary>The built-in cost profiles (embedded <c>Profiles/*.json</c>) and loading of a user's profile file.</summary>
public static class ProfileCatalog
{
    /// <summary>The profile used when none is given.</summary>
    public const string DefaultName = "skylake";

    /// <summary>Built-in profiles, oldest generation first.</summary>
    private static readonly string[] BuiltInNames = ["prescott", "core2", "nehalem", "sandybridge", "skylake"];

    private static readonly Lazy<IReadOnlyList<CostProfile>> Loaded = new(LoadBuiltIns);

    public static IReadOnlyList<CostProfile> BuiltIn => Loaded.Value;

    public static CostProfile Default => Resolve(DefaultName);

    /// <summary>
    /// A built-in profile by name (case-insensitive), else a JSON file at that path. An unknown name lists the
    /// built-in ones; a file that does not parse names the file and the line.
    /// </summary>
    public static CostProfile Resolve(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        var builtIn = BuiltIn.FirstOrDefault(p => string.Equals(p.Name, nameOrPath, StringComparison.OrdinalIgnoreCase));
        if (builtIn is not null)
        {
            return builtIn;
        }

        if (File.Exists(nameOrPath))
        {
            return Load(nameOrPath);
        }

        string names = string.Join(", ", BuiltIn.Select(p => p.Name));
        bool looksLikePath = nameOrPath.Contains('/', StringComparison.Ordinal)
            || nameOrPath.Contains('\\', StringComparison.Ordinal)
            || nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        throw new ProfileException(looksLikePath
            ? $"Profile file '{nameOrPath}' does not exist; give an existing JSON file or a built-in profile ({names})."
            : $"Unknown profile '{nameOrPath}'; the built-in profiles are {names}, or give a JSON file path.")
        {
            UnknownName = !looksLikePath,
        };
    }

    /// <summary>The largest profile file read: the built-in ones are about 10 KB.</summary>
    public const int MaxFileBytes = 1 << 20;

    /// <summary>Loads a profile document from a file of at most <see cref="MaxFileBytes"/> (so <c>/dev/zero</c> is an error, not a hang).</summary>
    public static CostProfile Load(string path)
    {
        string json;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.None);
            byte[] buffer = new byte[MaxFileBytes + 1];
            int length = 0;
            for (int read; length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0;)
            {
                length += read;
            }

            if (length > MaxFileBytes)
            {
                throw new ProfileException($"Profile file '{path}' is larger than {MaxFileBytes / 1024} KiB; a profile is a JSON document of a few KB.");
            }

            json = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(buffer, 0, length).TrimStart('\uFEFF');
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new ProfileException($"Profile file '{path}' is not UTF-8 text.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProfileException($"Cannot read profile file '{path}': {e.Message}", e);
        }

        return Parse(json, $"profile file '{path}'");
    }

    /// <summary>Parses a profile document, e.g. the <c>replay.profile</c> metadata of a report being re-priced.</summary>
    /// <param name="origin">How errors name the document, e.g. <c>profile file 'x.json'</c>.</param>
    public static CostProfile Parse(string json, string origin = "profile") => ProfileParser.Parse(json, origin);

    private static CostProfile[] LoadBuiltIns()
    {
        var assembly = typeof(ProfileCatalog).Assembly;
        return BuiltInNames.Select(name => LoadResource(assembly, name)).ToArray();
    }

    private static CostProfile LoadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream($"profiles.{name}.json")
            ?? throw new InvalidOperationException($"Built-in profile '{name}' is not embedded in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        var profile = Parse(reader.ReadToEnd(), $"built-in profile '{name}'");
        return profile.Name == name
            ? profile
            : throw new InvalidOperationException($"Built-in profile resource '{name}' is named '{profile.Name}'.");
    }
}
