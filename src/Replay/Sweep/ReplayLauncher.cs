namespace Replay.Sweep;

/// <summary>
/// How another process (a Slurm task) starts this same <c>replay</c>: the running executable when it is the
/// <c>replay</c> apphost, otherwise the .NET host running this <c>replay.dll</c> (the launcher <c>tools/install.sh</c>
/// installs execs <c>dotnet …/replay.dll</c>; tests and <c>dotnet run</c> run the build's <c>replay.dll</c>).
/// </summary>
internal static class ReplayLauncher
{
    public static IReadOnlyList<string> Command()
    {
        string? process = Environment.ProcessPath;
        string name = Path.GetFileNameWithoutExtension(process ?? "");
        if (process is not null && name == "replay")
        {
            return [process];
        }

        string dll = typeof(ReplayLauncher).Assembly.Location;
        string host = process is not null && name == "dotnet" ? process : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        return [host, dll];
    }

    /// <summary>A word quoted for bash (single quotes, an embedded quote closed and escaped).</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Splits <c>--slurm-opts</c> as a shell would split plain words: whitespace separates, quotes group.</summary>
    public static List<string> SplitWords(string text)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        bool inWord = false;
        char quote = '\0';
        foreach (char c in text)
        {
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }

        if (quote != '\0')
        {
            throw new SweepUsageException($"--slurm-opts '{text}' has an unclosed quote.");
        }

        if (inWord)
        {
            words.Add(current.ToString());
        }

        return words;
    }
}
