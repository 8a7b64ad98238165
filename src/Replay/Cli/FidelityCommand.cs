using System.CommandLine;
using System.Globalization;
using Replay.Fidelity;

namespace Replay.Cli;

/// <summary>
/// <c>replay fidelity [--out DIR] [--events N] [--work DIR] [--effect ID]...</c> (SPEC §6): generates the workloads each
/// published effect is measured on, replays them with the matching profiles and engines, and writes the fidelity table
/// (<c>fidelity.parquet</c>, <c>fidelity.md</c>). Exit 1 when any effect is in the wrong direction or outside 2× of
/// its published size, so a nightly job fails when an effect leaves its band. <c>--effect</c> limits the table (and
/// the replays) to the effects named.
/// </summary>
internal static class FidelityCommand
{
    public const long DefaultEvents = 2_000_000;

    private static readonly System.Text.Json.JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
    };

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder for fidelity.parquet and fidelity.md.", DefaultValueFactory = _ => Path.Combine("reports", "fidelity") };
        var events = NumberOptions.Long("--events", "Events per generated workload trace.", DefaultEvents, min: 10_000, alias: "-n",
            why: "shorter traces hold too few forks, builds or lookups to measure an effect");
        var work = new Option<string?>("--work") { Description = "Folder for the generated traces (kept and reused; default: a folder under the system temp directory)." };
        var json = new Option<bool>("--json") { Description = "Print the table as JSON instead of markdown." };
        var baseline = new Option<string?>("--baseline")
        {
            Description = "A folder with an earlier fidelity.parquet: exit 1 only when an effect leaves the band it was in there (its direction turns wrong, or it was within 2× and is no longer), for nightly jobs.",
        };
        var only = new Option<string[]>("--effect")
        {
            Description = "Only this effect (repeatable; the table's first column, e.g. forkwait-vtx-shadow): its workloads alone are generated and replayed. Default: every effect.",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        only.AcceptOnlyFromAmong([.. Effects.All(DefaultEvents).Select(e => e.Id)]);
        var cmd = new Command("fidelity", "Regenerate the fidelity table: published effect, setting, published size, measured size, direction, ratio, within 2×.")
        {
            output, events, work, json, baseline, only,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            long n = parse.GetValue(events);
            string workDir = parse.GetValue(work) ?? Path.Combine(Path.GetTempPath(), "replay-fidelity");
            var chosen = parse.GetValue(only) is { Length: > 0 } ids ? new HashSet<string>(ids, StringComparer.Ordinal) : null;
            var effects = Effects.All(n).Where(e => chosen is null || chosen.Contains(e.Id)).ToList();
            var results = await Lab.RunAsync(effects, workDir, line => stderr.WriteLine(line), ct).ConfigureAwait(false);
            var rows = effects.Select(e => FidelityRow.Of(e, results)).ToList();
            string dir = parse.GetValue(output)!;
            string command = "replay " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["replay.version"] = RunCommand.Version,
                ["replay.commit"] = RunCommand.Commit,
                ["replay.command"] = command,
                ["replay.fidelity.events"] = n.ToString(CultureInfo.InvariantCulture),
            };
            await FidelityTable.WriteParquetAsync(dir, rows, metadata, ct).ConfigureAwait(false);
            string md = FidelityTable.Markdown(rows);
            await File.WriteAllTextAsync(Path.Combine(dir, FidelityTable.MarkdownFile), md, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                stdout.WriteLine(System.Text.Json.JsonSerializer.Serialize(rows, Json));
            }
            else
            {
                stdout.Write(md);
            }

            int bad = rows.Count(r => !r.Within2x);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rows.Count - bad} of {rows.Count} effects within 2× in the right direction; table: {Path.Combine(dir, FidelityTable.MarkdownFile)}"));
            if (parse.GetValue(baseline) is not { } baseDir)
            {
                return bad == 0 ? CliApp.Success : CliApp.Failure;
            }

            string basePath = Path.Combine(baseDir, FidelityTable.ParquetFile);
            if (!File.Exists(basePath))
            {
                stderr.WriteLine($"The baseline folder '{baseDir}' has no {FidelityTable.ParquetFile}.");
                return CliApp.Failure;
            }

            var bands = await FidelityTable.ReadBandsAsync(basePath, ct).ConfigureAwait(false);
            var left = rows.Where(r => bands.TryGetValue(r.Effect, out var b) && ((b.DirectionOk && !r.DirectionOk) || (b.Within2x && !r.Within2x))).ToList();
            foreach (var r in left)
            {
                stderr.WriteLine($"fidelity: {r.Effect} left its band (baseline: {(bands[r.Effect].Within2x ? "within 2×" : "right direction")}; now {(r.DirectionOk ? "outside 2×" : "the wrong direction")}).");
            }

            return left.Count == 0 ? CliApp.Success : CliApp.Failure;
        });
        return cmd;
    }
}
