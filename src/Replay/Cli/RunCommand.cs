using System.CommandLine;
using System.Reflection;
using Replay.Analysis.Costs;
using Replay.Analysis.Reports;
using Replay.Driver;
using Replay.Engines.Contract;
using Replay.Engines.Registry;

namespace Replay.Cli;

/// <summary><c>replay [run] TRACE... [--engine ...] [--profile ...] [--out DIR] [--verify] [--strict] [--window N] [--skip N] [--warmup N] [--limit N] [--json]</c>.</summary>
internal sealed class RunCommand
{
    private readonly Argument<string[]> _traces = new("trace") { Description = "Trace file(s) in replay's Parquet format (SPEC §1).", Arity = ArgumentArity.OneOrMore };
    private readonly Option<string[]> _engines = new("--engine", "-e")
    {
        Description = "Engine as NAME[:key=value,...]; repeatable; 'all' = every engine (default). See 'replay engines'.",
        DefaultValueFactory = _ => ["all"],
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _profile = new("--profile", "-p") { Description = "Cost profile: a built-in name (see 'replay profiles') or a JSON file.", DefaultValueFactory = _ => ProfileCatalog.DefaultName };
    private readonly Option<string?> _out = new("--out", "-o") { Description = "Report folder (default reports/<trace stem>/ per trace)." };
    private readonly Option<bool> _verify = new("--verify") { Description = "Check every access of every engine against a fresh walk of the guest tables." };
    private readonly Option<bool> _strict = new("--strict") { Description = "Stop at the first trace well-formedness warning." };
    private readonly Option<long> _window = NumberOptions.Long("--window", "Events per timeline window.", 1_000_000);
    private readonly Option<long> _skip = NumberOptions.Long("--skip",
        "Rows at the start whose accesses are not replayed (their page-table ops, cr3 loads, invlpgs, flushes and marks are); none is counted.", 0, min: 0);

    private readonly Option<long> _warmup = NumberOptions.Long("--warmup",
        "Rows after --skip replayed in full by every engine (TLBs and shadows warm up) but counted in no report metric.", 0, min: 0);

    private readonly Option<long?> _limit = NumberOptions.OptionalLong("--limit", "Stop after this many counted rows (default: to the end of the trace).");
    private readonly Option<bool> _json = new("--json") { Description = "Print the summary as JSON instead of a table." };

    private RunCommand()
    {
        // System.CommandLine hands an unknown "--flag" to a greedy argument; make it the usage error it is.
        _traces.Validators.Add(r =>
        {
            foreach (var t in r.Tokens.Where(t => t.Value.StartsWith('-')))
            {
                r.AddError($"Unrecognized option '{t.Value}'.");
            }
        });
    }

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var cmd = new Command("run", "Replay traces through engines and write Parquet reports (the default command).");
        new RunCommand().Configure(cmd, stdout, stderr);
        return cmd;
    }

    private void Configure(Command cmd, TextWriter stdout, TextWriter stderr)
    {
        cmd.Add(_traces);
        cmd.Add(_engines);
        cmd.Add(_profile);
        cmd.Add(_out);
        cmd.Add(_verify);
        cmd.Add(_strict);
        cmd.Add(_window);
        cmd.Add(_skip);
        cmd.Add(_warmup);
        cmd.Add(_limit);
        cmd.Add(_json);
        cmd.SetAction((parse, ct) => ExecuteAsync(parse, stdout, stderr, ct));
    }

    private async Task<int> ExecuteAsync(ParseResult parse, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var profile = ProfileCatalog.Resolve(parse.GetValue(_profile)!);
        var (specs, skippable) = ParseEngines(parse.GetValue(_engines) ?? ["all"]);
        var traces = parse.GetValue(_traces)!;
        string? outDir = parse.GetValue(_out);
        if (outDir is not null)
        {
            ReportFolders.RequireDistinctNames(traces);
        }

        // Each report folder's lock is taken before any replay: a second run into the same folder fails now, with one
        // sentence, instead of replaying and then replacing this run's reports.
        List<string> dirs = ReportDirs(traces, outDir);
        var locks = new List<ReportFolder>();
        using var unlock = new LockSet(locks);
        foreach (string dir in dirs.Distinct(StringComparer.Ordinal))
        {
            locks.Add(ReportFolder.Lock(dir));
        }

        using var progress = new ProgressBar(stderr);
        var outcomes = new List<ReplayOutcome>();
        foreach (var (trace, i) in traces.Select((t, i) => (t, i)))
        {
            // The timeline windows are spilled beside the report folder as they close, not kept (issue 15, item 9), and
            // priced into timeline.parquet when it is written; the scratch folder goes with the lock.
            string spill = locks[outDir is null ? i : 0].Scratch; // the dirs are distinct: one per trace, or the --out one
            var req = new ReplayRequest(trace, specs, profile.Tlb, parse.GetValue(_window), parse.GetValue(_verify), parse.GetValue(_strict), skippable,
                CheckPrices: kinds => kinds.ToList().ForEach(k => profile.Handler(k.Handler)),
                Skip: parse.GetValue(_skip), Warmup: parse.GetValue(_warmup), Limit: parse.GetValue(_limit), WindowSpill: spill);
            progress.Label = Path.GetFileName(trace);
            var outcome = await ReplayDriver.RunAsync(req, progress, ct).ConfigureAwait(false);
            foreach (var (engine, why) in outcome.Skipped)
            {
                await stderr.WriteLineAsync($"replay: note: 'all' skips {engine} for {Path.GetFileName(trace)}: {why}").ConfigureAwait(false);
            }

            if (outcome.Counted == 0 && req.CountFrom > 0)
            {
                await stderr.WriteLineAsync($"replay: warning: {Path.GetFileName(trace)} has no row after --skip {req.Skip} and --warmup {req.Warmup}, so nothing is counted.").ConfigureAwait(false);
            }

            outcomes.Add(outcome);
        }

        progress.Done();

        // Every replay finished before anything is written: a bad trace leaves existing reports untouched.
        string command = "replay " + string.Join(' ', parse.Tokens.Select(t => t.Value));
        var written = new List<(string Dir, ReportTables Tables)>();
        if (outDir is not null)
        {
            written.Add((outDir, ReportBuilder.Build(profile, outcomes.Select(o => o.Result))));
        }
        else
        {
            written.AddRange(dirs.Zip(outcomes, (dir, o) => (dir, ReportBuilder.Build(profile, [o.Result]))));
        }

        foreach (var (dir, tables) in written)
        {
            string sha = string.Join(",", tables.Summary.Select(s => s.TraceSha256).Distinct());
            await ReportWriter.WriteAsync(dir, tables, profile, new ReportProvenance(Version, Commit, command, sha), ct).ConfigureAwait(false);
        }

        var summary = written.SelectMany(w => w.Tables.Summary).ToList();
        foreach (var o in outcomes.Where(o => o.Result.Engines.Count > 0 && o.Result.Engines[0].All.Accesses == 0))
        {
            // Every cost replay measures is paid by accesses (hidden faults, TLB misses, walks): without one the report is all zeros.
            await stderr.WriteLineAsync($"replay: warning: {o.Result.Trace} has no read, write or fetch events, so every engine's access costs are 0.").ConfigureAwait(false);
        }

        if (parse.GetValue(_json))
        {
            SummaryPrinter.PrintJson(stdout, summary);
        }
        else
        {
            // Each trace's own rows: by folder without --out (names may repeat), by name in the one --out report (they cannot).
            var perTrace = outcomes.Select((o, i) => outDir is null
                ? (o, (IReadOnlyList<SummaryRow>)written[i].Tables.Summary, (IReadOnlyList<ExitRow>)written[i].Tables.Exits, (IReadOnlyList<VcpuRow>)written[i].Tables.Vcpus)
                : (o, summary.Where(r => r.Trace == o.Result.Trace).ToList(), written[0].Tables.Exits.Where(e => e.Trace == o.Result.Trace).ToList(),
                    written[0].Tables.Vcpus.Where(v => v.Trace == o.Result.Trace).ToList())).ToList();
            SummaryPrinter.PrintTable(stdout, perTrace, written.Select(w => w.Dir).ToList(), profile.Name);
        }

        return CliApp.Success;
    }

    /// <summary>The report folders a run writes: <paramref name="outDir"/>, or one per trace (<see cref="ReportFolders.For"/>).</summary>
    private static List<string> ReportDirs(IReadOnlyList<string> traces, string? outDir) => outDir is not null
        ? [outDir]
        : ReportFolders.For(traces);

    /// <summary>Releases every report-folder lock a run took.</summary>
    private sealed class LockSet(List<ReportFolder> locks) : IDisposable
    {
        public void Dispose() => locks.ForEach(l => l.Dispose());
    }

    /// <summary>The engines to run, in order and without repeats, and which of them only 'all' asked for (those may be skipped).</summary>
    private static (List<EngineSpec> Specs, HashSet<string> Skippable) ParseEngines(IEnumerable<string> values)
    {
        var specs = new List<EngineSpec>();
        var named = new HashSet<string>(StringComparer.Ordinal);
        var fromAll = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in values.SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            bool all = string.Equals(v, "all", StringComparison.OrdinalIgnoreCase);
            var add = all ? EngineRegistry.AllDefaults() : [EngineRegistry.Parse(v)];
            foreach (var s in add)
            {
                (all ? fromAll : named).Add(s.CanonicalName);
                if (!specs.Any(x => x.CanonicalName == s.CanonicalName))
                {
                    specs.Add(s);
                }
            }
        }

        fromAll.ExceptWith(named);
        return (specs, fromAll);
    }

    internal static string Version =>
        typeof(RunCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    internal static string Commit =>
        typeof(RunCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion is { } v && v.Contains('+', StringComparison.Ordinal)
            ? v[(v.IndexOf('+', StringComparison.Ordinal) + 1)..]
            : "unknown";
}
