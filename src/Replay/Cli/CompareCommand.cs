using System.CommandLine;
using System.Globalization;
using Replay.Analysis.Reports;

namespace Replay.Cli;

/// <summary>
/// <c>replay compare BASE CURRENT</c>: deltas of the key metrics between two report folders, for nightly regression
/// jobs. Exit code 1 when anything regressed beyond its threshold (or, with <c>--strict</c>, when a row is on one
/// side only), 0 otherwise; 2 (nothing written) when the two are not comparable: a trace of the same name with another
/// SHA-256, or no row in common because the profiles or traces differ. A metric one side does not record (an older
/// report) is listed and skipped, never a failure. Throughput is gated only with <c>--max-slowdown</c>.
/// </summary>
internal static class CompareCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var baseDir = new Argument<string>("base") { Description = "Baseline report folder." };
        var currentDir = new Argument<string>("current") { Description = "Current report folder." };
        var maxIncrease = NumberOptions.NonNegative("--max-increase", "Allowed increase of counts and cycles, in percent (they are deterministic).", 0);
        var maxSlowdown = NumberOptions.OptionalNonNegative("--max-slowdown",
            "Gate throughput too: allowed drop of events_per_second on phase 'all', in percent (default: throughput is not compared; it is the one value that differs between runs).");
        var minSeconds = NumberOptions.NonNegative("--min-seconds",
            "With --max-slowdown: runs shorter than this many seconds (replay_seconds) on either side are not gated (status too_short).", 1.0);
        var anyTrace = new Option<bool>("--ignore-trace-hash")
        {
            Description = "Match rows by trace name even when the trace's SHA-256 differs (e.g. a baseline of a trace the generator has since changed).",
        };
        var json = new Option<bool>("--json") { Description = "Print the comparison rows as JSON instead of a table." };
        var strict = new Option<bool>("--strict") { Description = "Fail when a row is present on one side only." };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for compare.parquet (default: the current report folder)." };
        var cmd = new Command("compare", "Compare two report folders metric by metric; exit code 1 on a regression.")
        {
            baseDir, currentDir, maxIncrease, maxSlowdown, minSeconds, strict, anyTrace, output, json,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            string b = parse.GetValue(baseDir)!, c = parse.GetValue(currentDir)!;
            var baseRows = await ReadSummary(b, ct).ConfigureAwait(false);
            var currentRows = await ReadSummary(c, ct).ConfigureAwait(false);
            if (Comparer.Incomparable(baseRows, currentRows, checkHashes: !parse.GetValue(anyTrace)) is string why)
            {
                await stderr.WriteLineAsync($"replay: {b} and {c}: {why}").ConfigureAwait(false);
                return CliApp.UsageError;
            }

            var options = new Replay.Analysis.Reports.CompareOptions(parse.GetValue(maxIncrease), parse.GetValue(maxSlowdown), parse.GetValue(minSeconds));
            var rows = Comparer.Compare(baseRows, currentRows, options);

            // Per vCPU too when both report folders have the breakdown (one written before it existed has not).
            string? vcpusNote = null;
            if (await ReadVcpus(b, ct).ConfigureAwait(false) is { } baseVcpus && await ReadVcpus(c, ct).ConfigureAwait(false) is { } currentVcpus)
            {
                rows.AddRange(Comparer.CompareVcpus(baseVcpus, currentVcpus, options));
            }
            else if (File.Exists(Path.Combine(b, ReportWriter.VcpusFile)) || File.Exists(Path.Combine(c, ReportWriter.VcpusFile)))
            {
                vcpusNote = $"  {Comparer.NotRecorded,-15} per vCPU: no {ReportWriter.VcpusFile} in {(File.Exists(Path.Combine(b, ReportWriter.VcpusFile)) ? "current" : "base")}, not compared";
            }
            string command = "replay " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            string written = await ReportWriter.WriteCompareAsync(parse.GetValue(output) ?? c, rows, new ReportProvenance(RunCommand.Version, RunCommand.Commit, command, ""), ct)
                .ConfigureAwait(false);

            if (parse.GetValue(json))
            {
                PrintJson(stdout, rows);
            }
            else
            {
                Print(stdout, rows);
                if (vcpusNote is not null)
                {
                    stdout.WriteLine(vcpusNote);
                }
            }

            int regressed = rows.Count(r => r.Status == "regressed");
            int oneSided = rows.Count(r => r.Status is "only_in_base" or "only_in_current");
            int matched = rows.Where(r => r.Metric != "row").Select(r => (r.Trace, r.Engine, r.Profile, r.Phase, r.Vcpu)).Distinct().Count();
            (parse.GetValue(json) ? stderr : stdout).WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{matched} rows compared: {regressed} regression(s), {rows.Count(r => r.Status == "worse")} within limits, {rows.Count(r => r.Status == "better")} improvement(s), {oneSided} row(s) on one side only; {written}"));
            return regressed > 0 || (parse.GetValue(strict) && oneSided > 0) ? CliApp.Failure : CliApp.Success;
        });
        return cmd;
    }

    private static async Task<List<SummaryRow>> ReadSummary(string dir, CancellationToken ct)
    {
        string path = UsageException.RequireSummary(dir);

        List<SummaryRow> rows;
        try
        {
            rows = await ReportReader.ReadSummaryAsync(path, ct).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new UsageException($"{path}: not a summary this version can compare ({e.Message})");
        }

        // A summary has one row per (trace, engine, profile, phase); a rewritten one may repeat a key.
        if (rows.GroupBy(r => (r.Trace, r.Engine, r.Profile, r.Phase)).FirstOrDefault(g => g.Skip(1).Any()) is { } twice)
        {
            int first = rows.IndexOf(twice.First()), second = rows.IndexOf(twice.Skip(1).First());
            throw new InvalidDataException(
                $"{path}: rows {first} and {second} are both trace {twice.Key.Trace}, engine {twice.Key.Engine}, profile {twice.Key.Profile}, phase {twice.Key.Phase}; a summary has one row per key, so it cannot be compared.");
        }

        return rows;
    }

    /// <summary>The folder's per-vCPU rows, or null when it has no <c>vcpus.parquet</c>.</summary>
    private static async Task<List<VcpuRow>?> ReadVcpus(string dir, CancellationToken ct)
    {
        string path = Path.Combine(dir, ReportWriter.VcpusFile);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return await ReportReader.ReadVcpusAsync(path, ct).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new UsageException($"{path}: not a per-vCPU file this version can compare ({e.Message})");
        }
    }

    /// <summary>The phase, and the vCPU of a per-vCPU row (<c>all v1</c>).</summary>
    private static string Scope(CompareRow r) => r.Vcpu is { } v ? string.Create(CultureInfo.InvariantCulture, $"{r.Phase} v{v}") : r.Phase;

    private static void Print(TextWriter stdout, List<CompareRow> rows)
    {
        var c = CultureInfo.InvariantCulture;
        var shown = rows.Where(r => r.Status is not ("same" or Comparer.NotRecorded or Comparer.TooShort)).ToList();
        if (shown.Count > 0)
        {
            stdout.WriteLine($"  {"status",-15} {"engine",-30} {"phase",-10} {"metric",-18} {"base",16} {"current",16} {"change",9}");
        }

        foreach (var r in shown)
        {
            string change = double.IsNaN(r.DeltaPct) ? "" : double.IsInfinity(r.DeltaPct) ? "new" : r.DeltaPct.ToString("+0.0;-0.0;0.0", c) + "%";
            string b = double.IsNaN(r.Base) ? "" : r.Base.ToString("N0", c), cur = double.IsNaN(r.Current) ? "" : r.Current.ToString("N0", c);
            stdout.WriteLine($"  {r.Status,-15} {r.Engine,-30} {Scope(r),-10} {r.Metric,-18} {b,16} {cur,16} {change,9}");
        }

        if (rows.Count(r => r.Status == Comparer.TooShort) is int shortRuns and > 0)
        {
            stdout.WriteLine(string.Create(c, $"  {Comparer.TooShort,-15} {Comparer.ThroughputMetric}: {shortRuns} run(s) shorter than --min-seconds on a side, not gated"));
        }

        // One line per metric, not per row: an older baseline lacks a new metric on every row.
        foreach (var g in rows.Where(r => r.Status == Comparer.NotRecorded).GroupBy(r => r.Metric))
        {
            string side = g.All(r => double.IsNaN(r.Base)) ? "base" : g.All(r => double.IsNaN(r.Current)) ? "current" : "base or current";
            stdout.WriteLine(string.Create(c, $"  {Comparer.NotRecorded,-15} {g.Key}: not recorded in {side} ({g.Count()} rows), not compared"));
        }
    }

    private static void PrintJson(TextWriter stdout, List<CompareRow> rows) =>
        stdout.WriteLine(CliJson.Array(rows, (w, r) =>
        {
            CliJson.WriteRowKey(w, r.Trace, null, r.Engine, r.Profile, r.Phase);
            if (r.Vcpu is { } v)
            {
                w.WriteNumber("vcpu", v);
            }
            else
            {
                w.WriteNull("vcpu");
            }

            w.WriteString("metric", r.Metric);
            Number(w, "base", r.Base);
            Number(w, "current", r.Current);
            Number(w, "delta", r.Delta);
            Number(w, "delta_pct", r.DeltaPct);
            Number(w, "limit_pct", r.LimitPct);
            w.WriteString("status", r.Status);
        }));

    private static void Number(System.Text.Json.Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
