using System.CommandLine;
using System.Text.RegularExpressions;
using Replay.Cli;
using Replay.Tests.Import;

namespace Replay.Tests.Cli;

/// <summary>
/// Issue 14's "done when": a new user runs <c>replay --help</c> and every line of the README's Commands section as
/// written. Every option a line names is one its command takes, and every line runs, its placeholders filled in.
/// </summary>
public sealed partial class ReadmeCommandsTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    /// <summary>The lines of the README's Commands block, comments cut off.</summary>
    private static List<string> CommandLines()
    {
        string readme = File.ReadAllText(Path.Combine(SampleTraceTests.RepoRoot(), "README.md"));
        int section = readme.IndexOf("\n## Commands\n", StringComparison.Ordinal);
        int start = readme.IndexOf("```sh\n", section, StringComparison.Ordinal) + "```sh\n".Length;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        return readme[start..end].Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Contains(" # ", StringComparison.Ordinal) ? l[..l.IndexOf(" # ", StringComparison.Ordinal)] : l)
            .Select(l => l.Trim()).ToList();
    }

    /// <summary>The command a line is about: <c>run</c> for <c>replay [run] TRACE</c>, <c>import lackey</c> for an importer.</summary>
    private static string[] CommandPath(string line)
    {
        string[] words = line.Split(' ');
        return words[1] == "[run]" ? ["run"] : words[1] == "import" ? ["import", words[2]] : [words[1]];
    }

    [GeneratedRegex(@"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")]
    private static partial Regex OptionName();

    [Fact]
    public void Every_option_a_line_names_is_one_its_command_takes()
    {
        var root = CliApp.Build(TextWriter.Null, TextWriter.Null);
        var lines = CommandLines();
        Assert.Equal(15, lines.Count);
        string[] kernel = ["--vcpus", "--memory", "--levels", "--pcid", "--kpti", "--thp", "--ptdying", "--eager-fork"];
        foreach (string line in lines)
        {
            Command cmd = root;
            foreach (string name in CommandPath(line))
            {
                cmd = cmd.Subcommands.Single(c => c.Name == name);
            }

            var named = OptionName().Matches(line).Select(m => m.Value)
                .Concat(line.Contains("[kernel options as for gen]", StringComparison.Ordinal) ? kernel : []).Distinct().ToList();
            Assert.NotEmpty(named);
            foreach (string option in named)
            {
                Assert.True(cmd.Options.Any(o => o.Name == option || o.Aliases.Contains(option)), $"'{string.Join(' ', CommandPath(line))}' has no option {option} (README: {line})");
            }
        }
    }

    [Fact]
    public async Task Every_line_runs_with_its_placeholders_filled_in()
    {
        string Dir(string name) => _d.File(name);
        string trace = Dir("t.pq");
        string lackey = Samples.File(Path.Combine("cachelab", "long.trace"));
        string etl = Samples.File(Path.Combine("etl", "net.4.5.2.x64.etl.zip"));
        string xen = Samples.File(Path.Combine("xentrace", "xentrace.bin"));

        // One command per README line, in its order, every option of the line given (the Slurm ones: SlurmSweepTests).
        string[][] commands =
        [
            ["gen", "kernel-build", "-o", trace, "--events", "6000", "--seed", "3", "--vcpus", "2", "--memory", "2G", "--levels", "4", "--pcid", "--kpti", "--thp", "--ptdying", "--eager-fork"],
            ["run", trace, "--engine", "shadow-cached:prefetch=8", "--engine", "ept", "--profile", "nehalem", "--out", Dir("base"), "--verify", "--strict",
                "--window", "1000", "--skip", "100", "--warmup", "200", "--limit", "11000", "--json"],
            [trace, "--engine", "shadow-cached:prefetch=8", "--engine", "ept", "--profile", "nehalem", "--out", Dir("current"), "--window", "1000", "--skip", "100", "--warmup", "200", "--limit", "11000"],
            ["engines", "--json"],
            ["profiles", "--json"],
            ["inspect", trace, "--json"],
            ["import", "lackey", lackey, "-o", Dir("l.pq"), "--slice", "1000", "--skip-bad", "--limit", "20000", "--vcpus", "2", "--pcid"],
            ["import", "drmemtrace", Samples.ThreadSig, "-o", Dir("d.pq"), "--skip-bad", "--limit", "20000", "--vcpus", "2"],
            ["import", "xentrace", xen, "--report", Dir("xen-measured"), "-o", Dir("x.pq"), "--domain", "14", "--window-ms", "50", "--cpu-hz", "2400000000", "--skip-bad", "--limit", "1000", "--vcpus", "2"],
            ["import", "etw", etl, "-o", Dir("w.pq"), "--skip-bad", "--limit", "1000", "--vcpus", "2"],
            ["export", Dir("base"), "--format", "csv", "--out", Dir("csv")],
            ["reprice", Dir("base"), "--profile", "skylake", "--out", Dir("repriced")],
            ["compare", Dir("base"), Dir("current"), "--max-increase", "1", "--max-slowdown", "50", "--min-seconds", "1", "--strict", "--json"],
            ["report", Dir("base"), Dir("repriced"), "--html", Dir("r.html")],
            ["sweep", trace, "gen:demand?events=3000", "--engine", "shadow-cached:personality=xen|kvm", "--profile", "skylake", "--out", Dir("sweep"), "-j", "2",
                "--window", "1000", "--skip", "100", "--warmup", "100", "--limit", "2000", "--verify", "--strict"],
            ["--help"],
        ];
        foreach (string[] args in commands)
        {
            var (code, stdout, err) = await Cli.RunAsync(args);
            Assert.True(code == 0, $"replay {string.Join(' ', args)}: exit {code}: {err}");
            Assert.NotEmpty(stdout);
        }

        // The per-vCPU breakdown is in the report of the 2-vCPU trace, the re-priced one and the CSV export.
        Assert.True(File.Exists(Dir("base/vcpus.parquet")) && File.Exists(Dir("repriced/vcpu_exits.parquet")) && File.Exists(Dir("csv/vcpus.csv")));
        Assert.Contains("Per vCPU (phase all)", await File.ReadAllTextAsync(Dir("r.html")), StringComparison.Ordinal);

        // The fidelity line as the other lines (small, as FidelityCommandTests runs it); exit 1 only when an effect is out of its band.
        var (fidelity, table, fidelityErr) = await Cli.RunAsync("fidelity", "--events", "20000", "--out", Dir("fidelity"), "--work", Dir("work"), "--json");
        Assert.True(fidelity is 0 or 1, fidelityErr);
        Assert.StartsWith("[", table.TrimStart(), StringComparison.Ordinal);
    }
}
