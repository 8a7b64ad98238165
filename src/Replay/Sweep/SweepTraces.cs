using System.Text;
using System.Text.RegularExpressions;
using Replay.Cli;

namespace Replay.Sweep;

/// <summary>One trace of a grid: its file (absolute), its report name (the file name, SPEC §5) and the recipe that made it.</summary>
internal sealed record SweepTrace(string Name, string Path, string? Recipe);

/// <summary>
/// Resolves a grid's trace entries: a file, a glob (<c>*</c>, <c>?</c>, <c>**</c> for any folders; sorted), or a
/// recipe <c>gen:WORKLOAD?events=N&amp;seed=S&amp;pcid</c> whose keys are <c>replay gen</c>'s options (a key without a
/// value is a switch). A recipe is checked by <c>gen</c>'s own parser when the grid is planned and generated once, by
/// <c>gen</c> itself, into the sweep's work folder (<c>_work/traces/</c>), where a later sweep finds it.
/// </summary>
internal static partial class SweepTraces
{
    public const string GenPrefix = "gen:";

    public static IReadOnlyList<SweepTrace> Resolve(IEnumerable<(string Entry, string Where)> entries, string workDir)
    {
        var traces = new List<SweepTrace>();
        foreach (var (entry, where) in entries)
        {
            IEnumerable<SweepTrace> found = entry.StartsWith(GenPrefix, StringComparison.OrdinalIgnoreCase)
                ? [Recipe(entry, where, workDir)]
                : entry.IndexOfAny(['*', '?']) >= 0
                    ? Glob(entry, where)
                    : [File(entry, where)];
            foreach (var t in found)
            {
                if (traces.FirstOrDefault(x => x.Name == t.Name) is { } other)
                {
                    if (other.Path == t.Path)
                    {
                        continue;
                    }

                    throw new SweepUsageException($"{where}: traces '{other.Path}' and '{t.Path}' have the same name '{t.Name}'; a report names a trace by its file name, so rename one.");
                }

                traces.Add(t);
            }
        }

        return traces;
    }

    /// <summary>Generates every recipe trace that is not in the work folder yet (each to a temporary name, then renamed).</summary>
    public static async Task GenerateAsync(IEnumerable<SweepTrace> traces, TextWriter stderr, CancellationToken ct)
    {
        foreach (var t in traces.Where(t => t.Recipe is not null && !System.IO.File.Exists(t.Path)))
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(t.Path)!);
            string tmp = t.Path + ".tmp.pq";
            using var o = new StringWriter();
            using var e = new StringWriter();
            int code = await CliApp.RunAsync(GenArgs(t.Recipe!, tmp), o, e, ct).ConfigureAwait(false);
            if (code != CliApp.Success)
            {
                System.IO.File.Delete(tmp);
                throw new IOException($"trace recipe '{t.Recipe}' failed: {e.ToString().Trim()}");
            }

            System.IO.File.Move(tmp, t.Path, overwrite: true);
            string said = o.ToString().Trim();
            await stderr.WriteLineAsync($"sweep: generated {t.Name} ({said[(said.IndexOf(": ", StringComparison.Ordinal) + 2)..]}) from {t.Recipe}").ConfigureAwait(false);
        }
    }

    private static SweepTrace File(string entry, string where)
    {
        string full = System.IO.Path.GetFullPath(entry);
        return System.IO.File.Exists(full)
            ? new SweepTrace(System.IO.Path.GetFileName(full), full, null)
            : throw new SweepUsageException($"{where}: trace '{entry}': no such file.");
    }

    private static IEnumerable<SweepTrace> Glob(string entry, string where)
    {
        string full = System.IO.Path.GetFullPath(entry);
        var segments = full.Split('/');
        int firstWild = Array.FindIndex(segments, s => s.IndexOfAny(['*', '?']) >= 0);
        string root = string.Join('/', segments[..firstWild]);
        root = root.Length == 0 ? "/" : root;
        string pattern = string.Join('/', segments[firstWild..]);
        var regex = new Regex("^" + GlobRegex(pattern) + "$", RegexOptions.CultureInvariant);
        var matches = Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = pattern.Contains('/', StringComparison.Ordinal) || pattern.Contains("**", StringComparison.Ordinal), IgnoreInaccessible = true })
                .Where(f => regex.IsMatch(System.IO.Path.GetRelativePath(root, f)))
                .Order(StringComparer.Ordinal)
                .ToList()
            : [];
        return matches.Count > 0
            ? matches.Select(f => new SweepTrace(System.IO.Path.GetFileName(f), f, null))
            : throw new SweepUsageException($"{where}: trace glob '{entry}' matches no file.");
    }

    /// <summary><c>**/</c> = any folders (or none), <c>**</c> = anything, <c>*</c> = within one name, <c>?</c> = one character.</summary>
    private static string GlobRegex(string pattern)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < pattern.Length; i++)
        {
            if (string.CompareOrdinal(pattern, i, "**/", 0, 3) == 0)
            {
                sb.Append("(?:.*/)?");
                i += 2;
            }
            else if (string.CompareOrdinal(pattern, i, "**", 0, 2) == 0)
            {
                sb.Append(".*");
                i++;
            }
            else
            {
                sb.Append(pattern[i] switch { '*' => "[^/]*", '?' => "[^/]", char c => Regex.Escape(c.ToString()) });
            }
        }

        return sb.ToString();
    }

    private static SweepTrace Recipe(string entry, string where, string workDir)
    {
        string body = entry[GenPrefix.Length..];
        int q = body.IndexOf('?', StringComparison.Ordinal);
        string workload = q < 0 ? body : body[..q];
        var pairs = (q < 0 ? "" : body[(q + 1)..]).Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => (Key: p[0], Value: p.Length > 1 ? p[1] : null))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .ToList();
        if (workload.Length == 0 || pairs.Any(p => p.Key.Length == 0 || !RecipeName().IsMatch(p.Key) || (p.Value is { } v && !RecipeValue().IsMatch(v))))
        {
            throw new SweepUsageException($"{where}: trace recipe '{entry}' is not of the form gen:WORKLOAD?key=value&key=value (keys are 'replay gen' options).");
        }

        string canonical = GenPrefix + workload + (pairs.Count > 0 ? "?" + string.Join('&', pairs.Select(p => p.Value is null ? p.Key : $"{p.Key}={p.Value}")) : "");
        string name = workload + string.Concat(pairs.Select(p => p.Value is null ? $".{p.Key}" : $".{p.Key}-{p.Value}")) + ".pq";

        // gen's own parser checks the workload, the options and their values; nothing is generated yet.
        // (A validator that reads a value it cannot convert throws from Parse instead of reporting an error.)
        var root = CliApp.Build(TextWriter.Null, TextWriter.Null);
        string? problem;
        try
        {
            var parse = root.Parse(GenArgs(canonical, "check.pq"));
            problem = parse.Errors.Count > 0 ? parse.Errors[0].Message : null;
        }
        catch (InvalidOperationException e)
        {
            problem = e.Message;
        }

        if (problem is not null)
        {
            throw new SweepUsageException($"{where}: trace recipe '{entry}': {Whitespace().Replace(problem, " ").Trim()}");
        }

        return new SweepTrace(name, System.IO.Path.GetFullPath(System.IO.Path.Combine(workDir, name)), canonical);
    }

    private static string[] GenArgs(string recipe, string output)
    {
        string body = recipe[GenPrefix.Length..];
        int q = body.IndexOf('?', StringComparison.Ordinal);
        var args = new List<string> { "gen", q < 0 ? body : body[..q], "-o", output };
        foreach (var p in (q < 0 ? "" : body[(q + 1)..]).Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = p.Split('=', 2);
            args.Add("--" + kv[0]);
            if (kv.Length > 1)
            {
                args.Add(kv[1]);
            }
        }

        return [.. args];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex("^[a-z][a-z0-9-]*$")]
    private static partial Regex RecipeName();

    [GeneratedRegex("^[A-Za-z0-9._+-]+$")]
    private static partial Regex RecipeValue();
}
