using System.CommandLine;
using System.Globalization;
using Replay.Analysis.Reports;

namespace Replay.Cli;

/// <summary>
/// <c>replay compare BASE CURRENT</c>: deltas of the key metrics between two report folders, for nightly regression
/// jobs. Exit code 1 when anything regressed beyond its threshold (or, with <c>--strict</c>, when a row is on one
/// side only), 0 otherwise. A metric one side does not record (an older report) is listed and skipped, never a failure.
/// </summary>
internal static class CompareCommand
{
    public static Command Build(TextWriter stdout)
    {
        var baseDir = new Argument<string>("base") { Description = "Baseline report folder." };
        var currentDir = new Argument<string>("current") { Description = "Current report folder." };
        var maxIncrease = NumberOptions.Percent("--max-increase", "Allowed increase of counts and cycles, in percent (they are deterministic).", 0);
        var maxSlowdown = NumberOptions.Percent("--max-slowdown", "Allowed drop of events_per_second, in percent.", 10);
        var strict = new Option<bool>("--strict") { Description = "Fail when a row is present on one side only." };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for compare.parquet (default: the current report folder)." };
        var cmd = new Command("compare", "Compare two report folders metric by metric; exit code 1 on a regression.")
        {
            baseDir, currentDir, maxIncrease, maxSlowdown, strict, output,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            string b = parse.GetValue(baseDir)!, c = parse.GetValue(currentDir)!;
            var baseRows = await ReadSummary(b, ct).ConfigureAwait(false);
            var currentRows = await ReadSummary(c, ct).ConfigureAwait(false);
            var rows = Comparer.Compare(baseRows, currentRows, new Replay.Analysis.Reports.CompareOptions(parse.GetValue(maxIncrease), parse.GetValue(maxSlowdown)));
            string command = "replay " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            string written = await ReportWriter.WriteCompareAsync(parse.GetValue(output) ?? c, rows, new ReportProvenance(RunCommand.Version, RunCommand.Commit, command, ""), ct)
                .ConfigureAwait(false);

            Print(stdout, rows);
            int regressed = rows.Count(r => r.Status == "regressed");
            int oneSided = rows.Count(r => r.Status is "only_in_base" or "only_in_current");
            int matched = rows.Where(r => r.Metric != "row").Select(r => (r.Trace, r.Engine, r.Profile, r.Phase)).Distinct().Count();
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{matched} rows compared: {regressed} regression(s), {rows.Count(r => r.Status == "worse")} within limits, {rows.Count(r => r.Status == "better")} improvement(s), {oneSided} row(s) on one side only; {written}"));
            return regressed > 0 || (parse.GetValue(strict) && oneSided > 0) ? CliApp.Failure : CliApp.Success;
        });
        return cmd;
    }

    private static async Task<List<SummaryRow>> ReadSummary(string dir, CancellationToken ct)
    {
        string path = UsageException.RequireSummary(dir);

        try
        {
            return await ReportReader.ReadSummaryAsync(path, ct).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new UsageException($"{path}: not a summary this version can compare ({e.Message})");
        }
    }

    private static void Print(TextWriter stdout, List<CompareRow> rows)
    {
        var c = CultureInfo.InvariantCulture;
        var shown = rows.Where(r => r.Status is not ("same" or Comparer.NotRecorded)).ToList();
        if (shown.Count > 0)
        {
            stdout.WriteLine($"  {"status",-15} {"engine",-30} {"phase",-10} {"metric",-18} {"base",16} {"current",16} {"change",9}");
        }

        foreach (var r in shown)
        {
            string change = double.IsNaN(r.DeltaPct) ? "" : double.IsInfinity(r.DeltaPct) ? "new" : r.DeltaPct.ToString("+0.0;-0.0;0.0", c) + "%";
            string b = double.IsNaN(r.Base) ? "" : r.Base.ToString("N0", c), cur = double.IsNaN(r.Current) ? "" : r.Current.ToString("N0", c);
            stdout.WriteLine($"  {r.Status,-15} {r.Engine,-30} {r.Phase,-10} {r.Metric,-18} {b,16} {cur,16} {change,9}");
        }

        // One line per metric, not per row: an older baseline lacks a new metric on every row.
        foreach (var g in rows.Where(r => r.Status == Comparer.NotRecorded).GroupBy(r => r.Metric))
        {
            string side = g.All(r => double.IsNaN(r.Base)) ? "base" : g.All(r => double.IsNaN(r.Current)) ? "current" : "base or current";
            stdout.WriteLine(string.Create(c, $"  {Comparer.NotRecorded,-15} {g.Key}: not recorded in {side} ({g.Count()} rows), not compared"));
        }
    }
}
