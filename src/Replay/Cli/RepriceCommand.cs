using System.CommandLine;
using Replay.Analysis.Costs;
using Replay.Analysis.Reports;

namespace Replay.Cli;

/// <summary><c>replay reprice REPORT --profile P --out DIR</c>: every cycle column again under another profile, without replaying.</summary>
internal static class RepriceCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var report = new Argument<string>("report") { Description = "Report folder (as written by 'replay run')." };
        var profile = new Option<string>("--profile", "-p") { Description = "Cost profile: a built-in name or a JSON file.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder for the re-priced report.", Required = true };
        var cmd = new Command("reprice", "Recompute every cycle column of a report from its counts with another cost profile (no replay).") { report, profile, output };
        cmd.SetAction(async (parse, ct) =>
        {
            string dir = parse.GetValue(report)!;
            UsageException.RequireSummary(dir);

            var p = ProfileCatalog.Resolve(parse.GetValue(profile)!);
            var repriced = await Repricer.RepriceAsync(dir, p, ct).ConfigureAwait(false);
            if (!Equals(repriced.CountsProfile.Tlb, p.Tlb))
            {
                stderr.WriteLine($"replay: note: profile '{p.Name}' has another TLB geometry than '{repriced.CountsProfile.Name}', which the counts were measured with; " +
                    $"the cycles are '{p.Name}''s costs on those counts (a fresh replay with '{p.Name}' would also change TLB misses and walks).");
            }

            string outDir = parse.GetValue(output)!;
            string command = "replay " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            await ReportWriter.WriteAsync(outDir, repriced.Tables, p, new ReportProvenance(RunCommand.Version, RunCommand.Commit, command, repriced.TraceSha256), ct)
                .ConfigureAwait(false);
            stdout.WriteLine($"{outDir}: re-priced with profile {p.Name} ({repriced.Tables.Summary.Count} summary rows)");
            return CliApp.Success;
        });
        return cmd;
    }
}
