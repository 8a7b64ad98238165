using System.CommandLine;
using Replay.Analysis.Costs;
using Replay.Sweep;

namespace Replay.Cli;

/// <summary>
/// <c>replay sweep [TRACE...] [--trace T]... [--engine E]... [--profile P]... [--spec FILE] [--out DIR] [-j N]
/// [--slurm [--slurm-opts "…"] [--cells-per-task K] [--max-running M] [--wait]]</c>: a grid of traces × engine
/// configurations × profiles into one Hive-partitioned Parquet dataset (SPEC §6). <c>--task</c> and
/// <c>--finalize</c> are what the Slurm jobs run.
/// </summary>
internal sealed class SweepCommand
{
    private readonly Argument<string[]> _traces = new("trace") { Description = "Traces: files, globs ('traces/*.pq', 'data/**/*.pq') or recipes 'gen:WORKLOAD?events=N&seed=S' (keys are 'replay gen' options).", Arity = ArgumentArity.ZeroOrMore };
    private readonly Option<string[]> _trace = new("--trace", "-t") { Description = "A trace, glob or gen recipe (as the arguments); repeatable." };
    private readonly Option<string[]> _engines = new("--engine", "-e")
    {
        Description = "Engine NAME[:key=VALUES,...]; repeatable. VALUES: a|b|c, lo..hi (step 1), lo..hi:+s, lo..hi:xf (geometric), e.g. "
            + "'shadow-cached:prefetch=0|8|32,pool_pages=64..4096:x2' (the cartesian product); 'all' = every engine. Default: all.",
    };

    private readonly Option<string[]> _profiles = new("--profile", "-p") { Description = $"Cost profile names or JSON files; repeatable (default {ProfileCatalog.DefaultName})." };
    private readonly Option<string?> _spec = new("--spec") { Description = "Grid spec file (.json, .yaml): traces, engines, profiles, window, verify, strict; flags add to its lists." };
    private readonly Option<string> _out = new("--out", "-o") { Description = "Dataset folder: DIR/engine=…/profile=…/trace=…/summary.parquet and the other reports, manifest.json.", DefaultValueFactory = _ => Path.Combine("reports", "sweep") };
    private readonly Option<int> _jobs = new("--jobs", "-j") { Description = "Cells run at once (local).", DefaultValueFactory = _ => Environment.ProcessorCount };
    private readonly Option<long?> _window = new("--window") { Description = "Events per timeline window (as for run; default 1,000,000)." };
    private readonly Option<bool> _verify = new("--verify") { Description = "As for run: check every access against a fresh walk." };
    private readonly Option<bool> _strict = new("--strict") { Description = "As for run: stop a cell at its trace's first well-formedness warning." };
    private readonly Option<long?> _skip = NumberOptions.OptionalLong("--skip", "As for run, in every cell: rows at the start whose accesses are not replayed (default 0).", min: 0);
    private readonly Option<long?> _warmup = NumberOptions.OptionalLong("--warmup", "As for run, in every cell: rows after --skip replayed but not counted (default 0).", min: 0);
    private readonly Option<long?> _limit = NumberOptions.OptionalLong("--limit", "As for run, in every cell: stop after this many counted rows (default: to the end).");
    private readonly Option<bool> _slurm = new("--slurm") { Description = "Submit the grid as one Slurm job array (sbatch --array) and a final dependent job that checks completeness." };
    private readonly Option<string?> _slurmOpts = new("--slurm-opts") { Description = "Options passed to both sbatch calls, e.g. \"--partition=long --time=02:00:00 --mem=8G\"." };
    private readonly Option<int> _cellsPerTask = new("--cells-per-task") { Description = "Cells per array task (Slurm).", DefaultValueFactory = _ => 1 };
    private readonly Option<int> _maxRunning = new("--max-running") { Description = "At most this many array tasks at once (sbatch --array=…%M; 0 = no limit).", DefaultValueFactory = _ => 0 };
    private readonly Option<bool> _wait = new("--wait") { Description = "With --slurm: block until the final job has ended; exit 1 if a cell failed." };
    private readonly Option<int?> _task = new("--task") { Description = "(Slurm array task) run task I's cells of --grid.", Hidden = true };
    private readonly Option<bool> _finalize = new("--finalize") { Description = "(Slurm final job) check every cell of --grid and write the manifest.", Hidden = true };
    private readonly Option<string?> _grid = new("--grid") { Description = "(Slurm jobs) the planned grid, DIR/_sweep/grid.json.", Hidden = true };

    private SweepCommand()
    {
        _traces.Validators.Add(r =>
        {
            foreach (var t in r.Tokens.Where(t => t.Value.StartsWith('-')))
            {
                r.AddError($"Unrecognized option '{t.Value}'.");
            }
        });
        _jobs.Validators.Add(r => Positive(r, "--jobs", "cells at once"));
        _cellsPerTask.Validators.Add(r => Positive(r, "--cells-per-task", "cells per task"));
        _maxRunning.Validators.Add(r =>
        {
            if (Number(r) is < 0)
            {
                r.AddError("--max-running must be 0 (no limit) or a positive number of tasks.");
            }
        });
        _window.Validators.Add(r =>
        {
            if (Number(r) is <= 0)
            {
                r.AddError("--window must be a positive number of events.");
            }
        });
    }

    private static void Positive(System.CommandLine.Parsing.OptionResult r, string name, string what)
    {
        if (Number(r) is <= 0)
        {
            r.AddError($"{name} must be a positive number of {what}.");
        }
    }

    /// <summary>
    /// The option's number, or null when it was not given or is not a number (System.CommandLine then reports that
    /// itself; asking the result for its value would throw instead).
    /// </summary>
    private static long? Number(System.CommandLine.Parsing.OptionResult r) =>
        r.Tokens.Count == 1 && long.TryParse(r.Tokens[0].Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long v) ? v : null;

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var c = new SweepCommand();
        var cmd = new Command("sweep", "Run a grid of traces × engine configurations × profiles, locally (-j N) or as a Slurm job array (--slurm), into one Hive-partitioned Parquet dataset.")
        {
            c._traces, c._trace, c._engines, c._profiles, c._spec, c._out, c._jobs, c._window, c._verify, c._strict, c._skip, c._warmup, c._limit,
            c._slurm, c._slurmOpts, c._cellsPerTask, c._maxRunning, c._wait, c._task, c._finalize, c._grid,
        };
        cmd.SetAction((parse, ct) => c.ExecuteAsync(parse, stdout, stderr, ct));
        return cmd;
    }

    private async Task<int> ExecuteAsync(ParseResult parse, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        try
        {
            if (parse.GetValue(_task) is int task)
            {
                return await SlurmSweep.RunTaskAsync(SweepPlan.Load(RequireGrid(parse)), task, stderr, ct).ConfigureAwait(false);
            }

            if (parse.GetValue(_finalize))
            {
                var plan = SweepPlan.Load(RequireGrid(parse));
                var manifest = SweepManifest.Build(plan);
                await manifest.WriteAsync(plan.OutDir, ct).ConfigureAwait(false);
                manifest.PrintSummary(stdout);
                return manifest.Complete ? CliApp.Success : CliApp.Failure;
            }

            return await SweepAsync(parse, stdout, stderr, ct).ConfigureAwait(false);
        }
        catch (SweepUsageException e)
        {
            await stderr.WriteLineAsync($"replay: sweep: {e.Message}").ConfigureAwait(false);
            return CliApp.UsageError;
        }
    }

    private async Task<int> SweepAsync(ParseResult parse, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (parse.GetValue(_wait) && !parse.GetValue(_slurm))
        {
            throw new SweepUsageException("--wait goes with --slurm (a local sweep always waits).");
        }

        var spec = parse.GetValue(_spec) is { } specPath ? SweepSpecFile.Load(specPath) : new SweepSpecFile();
        string specName = parse.GetValue(_spec) ?? "";
        var traces = spec.Traces.Select((t, i) => (t, $"{specName}: traces[{i}]"))
            .Concat((parse.GetValue(_traces) ?? []).Select((t, i) => (t, $"trace argument {i + 1}")))
            .Concat((parse.GetValue(_trace) ?? []).Select(t => (t, "--trace")))
            .ToList();
        var engines = spec.Engines.Select((e, i) => (e, $"{specName}: engines[{i}]")).Concat((parse.GetValue(_engines) ?? []).Select(e => (e, "--engine"))).ToList();
        var profiles = spec.Profiles.Select((p, i) => (p, $"{specName}: profiles[{i}]")).Concat((parse.GetValue(_profiles) ?? []).Select(p => (p, "--profile"))).ToList();
        if (engines.Count == 0)
        {
            engines.Add(("all", "the default engines"));
        }

        if (profiles.Count == 0)
        {
            profiles.Add((ProfileCatalog.DefaultName, "the default profile"));
        }

        long window = parse.GetValue(_window) ?? spec.Window ?? 1_000_000;
        if (window <= 0)
        {
            throw new SweepUsageException($"{specName}: window must be a positive number of events.");
        }

        long skip = parse.GetValue(_skip) ?? spec.Skip ?? 0, warmup = parse.GetValue(_warmup) ?? spec.Warmup ?? 0;
        long? limit = parse.GetValue(_limit) ?? spec.Limit;
        if (skip < 0 || warmup < 0 || limit is <= 0)
        {
            throw new SweepUsageException($"{specName}: {(limit is <= 0 ? "limit must be a positive number of rows" : "skip and warmup must be 0 or a positive number of rows")}.");
        }

        var settings = new SweepSettings(window, parse.GetValue(_verify) || spec.Verify == true, parse.GetValue(_strict) || spec.Strict == true, skip, warmup, limit);
        string outDir = Path.GetFullPath(parse.GetValue(_out)!);
        var slurmOptions = parse.GetValue(_slurm)
            ? new SlurmOptions(parse.GetValue(_cellsPerTask), parse.GetValue(_maxRunning), ReplayLauncher.SplitWords(parse.GetValue(_slurmOpts) ?? ""), parse.GetValue(_wait), TimeSpan.FromSeconds(2))
            : null;

        // Everything that can be wrong with the grid is found here, before a trace is generated or a cell runs.
        var engineSpecs = SweepPlan.Engines(engines);
        var profileList = SweepPlan.Profiles(profiles);
        var traceList = SweepTraces.Resolve(traces, Path.Combine(outDir, "_work", "traces"));
        if (traceList.Count == 0)
        {
            throw new SweepUsageException("no traces: give files, globs or gen: recipes as arguments, with --trace, or in a --spec file.");
        }

        await SweepTraces.GenerateAsync(traceList, stderr, ct).ConfigureAwait(false);
        string command = "replay " + string.Join(' ', parse.Tokens.Select(t => t.Value));
        var plan = SweepPlan.Build(outDir, traceList, engineSpecs, profileList, settings, command);
        await stderr.WriteLineAsync($"sweep: {traceList.Count} trace(s) × {engineSpecs.Count} engine configuration(s) × {profileList.Count} profile(s) = {plan.Cells.Count} cells into {outDir}").ConfigureAwait(false);

        if (slurmOptions is not null)
        {
            return await SlurmSweep.SubmitAsync(plan, slurmOptions, stdout, stderr, ct).ConfigureAwait(false);
        }

        var manifest = await LocalSweep.RunAsync(plan, parse.GetValue(_jobs), stderr, ct).ConfigureAwait(false);
        manifest.PrintSummary(stdout);
        return manifest.Complete ? CliApp.Success : CliApp.Failure;
    }

    private string RequireGrid(ParseResult parse) =>
        parse.GetValue(_grid) is { } g
            ? File.Exists(g) ? g : throw new SweepUsageException($"--grid '{g}': no such file.")
            : throw new SweepUsageException("--task and --finalize need --grid DIR/_sweep/grid.json.");
}
