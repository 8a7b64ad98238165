namespace Replay.Cli;

/// <summary>
/// The default report folder of each trace of one <c>replay run</c>: <c>reports/&lt;trace stem&gt;/</c> (SPEC §5). Traces
/// that share a stem (<c>a/web.pq</c> and <c>b/web.pq</c>) each get their own folder: the first, in command-line
/// order, <c>reports/web/</c>, the next <c>reports/web-2/</c>, then <c>web-3</c>, skipping any name another trace of
/// the same run has as its own stem. So the same command always writes the same folders.
/// </summary>
internal static class ReportFolders
{
    public const string Root = "reports";

    /// <summary>One folder per trace path, in order, all different.</summary>
    public static List<string> For(IReadOnlyList<string> traces)
    {
        var stems = traces.Select(t => Path.GetFileNameWithoutExtension(t)).ToList();
        var taken = new HashSet<string>(stems, StringComparer.Ordinal);
        var firstSeen = new HashSet<string>(StringComparer.Ordinal);
        var names = new List<string>(stems.Count);
        foreach (var stem in stems)
        {
            if (firstSeen.Add(stem))
            {
                names.Add(stem);
                continue;
            }

            int k = 2;
            while (taken.Contains($"{stem}-{k}"))
            {
                k++;
            }

            string name = $"{stem}-{k}";
            taken.Add(name);
            names.Add(name);
        }

        return names.Select(n => Path.Combine(Root, n)).ToList();
    }

    /// <summary>
    /// Throws when traces whose file names are equal would share the one folder of <c>--out</c>: their rows would
    /// have the same <c>trace</c> (the file name, SPEC §5) and could not be told apart.
    /// </summary>
    public static void RequireDistinctNames(IReadOnlyList<string> traces)
    {
        var twice = traces.GroupBy(t => Path.GetFileName(t), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
        {
            throw new UsageException(
                $"--out puts every trace in one report, where traces are told apart by file name, and {string.Join(" and ", twice)} are both {twice.Key}: leave out --out (each trace then gets its own reports/ folder) or rename one.", usage: true);
        }
    }
}
