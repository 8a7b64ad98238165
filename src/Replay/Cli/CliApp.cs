using System.CommandLine;

namespace Replay.Cli;

/// <summary>The command line, built in one place (SPEC §6). Output goes through injectable writers so tests capture it.</summary>
public static class CliApp
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;

    /// <summary>Interrupted (SIGINT or SIGTERM): 128 + SIGINT, as shells report a Ctrl-C.</summary>
    public const int Cancelled = 130;

    internal static readonly Option<bool> Verbose = new("--verbose") { Description = "Show stack traces on errors.", Recursive = true };

    public static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand(
            "replay: replays recorded guest MMU traces (memory accesses, CR3 loads, page-table writes, invalidations) " +
            "through hypervisor MMU-virtualization strategies on a VT-x exit-cost model, and writes Parquet reports. " +
            "'replay TRACE... [options]' is short for 'replay run TRACE... [options]'.");
        root.Add(Verbose);
        root.Add(RunCommand.Build(stdout, stderr));
        root.Add(InfoCommands.Engines(stdout));
        root.Add(InfoCommands.Profiles(stdout));
        root.Add(InspectCommand.Build(stdout, stderr));
        root.Add(GenCommand.Build(stdout, stderr));
        root.Add(ImportCommand.Build(stdout, stderr));
        root.Add(ExportCommand.Build(stdout));
        root.Add(RepriceCommand.Build(stdout, stderr));
        root.Add(CompareCommand.Build(stdout, stderr));
        root.Add(ReportCommand.Build(stdout));
        root.Add(FidelityCommand.Build(stdout, stderr));
        root.Add(SweepCommand.Build(stdout, stderr));
        return root;
    }

    /// <summary>
    /// <c>replay TRACE...</c> means <c>replay run TRACE...</c> (SPEC §6): unless the first token names a command or
    /// is a flag only the root understands (help, version), <c>run</c> is put in front.
    /// </summary>
    internal static string[] DefaultToRun(RootCommand root, string[] args)
    {
        if (args.Length == 0)
        {
            return args;
        }

        string first = args[0];
        bool isCommand = root.Subcommands.Any(c => c.Name == first || c.Aliases.Contains(first));
        bool rootOnly = first is "-h" or "-?" or "--help" or "/?" or "/h" or "--version" || first.StartsWith('[');
        return isCommand || rootOnly ? args : ["run", .. args];
    }

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) => RunAsync(args, stdout, stderr, CancellationToken.None);

    /// <summary>Runs the command line; <paramref name="ct"/> cancels it as Ctrl-C or SIGTERM does (System.CommandLine's own token).</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        // No option or argument of any command takes an empty string (a path, a name, a number): say which one was
        // empty before anything tries to use it.
        if (Array.FindIndex(args, string.IsNullOrWhiteSpace) is int empty and >= 0)
        {
            string which = empty > 0 && args[empty - 1].StartsWith('-') ? $"the value of {args[empty - 1]}" : $"argument {empty + 1}";
            await stderr.WriteLineAsync($"replay: {which} is an empty string.").ConfigureAwait(false);
            await stderr.WriteLineAsync("Run 'replay --help' for usage.").ConfigureAwait(false);
            return UsageError;
        }

        var root = Build(stdout, stderr);
        var parse = root.Parse(DefaultToRun(root, args));
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await stderr.WriteLineAsync($"replay: {e.Message}").ConfigureAwait(false);
            }

            await stderr.WriteLineAsync("Run 'replay --help' for usage.").ConfigureAwait(false);
            return UsageError;
        }

        // On SIGINT/SIGTERM the token is cancelled and the command gets this long to stop: each engine first finishes the
        // row group it is replaying (a second or two on the first, still-JIT-compiling, one), so the default 2 s is too short.
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromSeconds(30) };
        try
        {
            return await parse.InvokeAsync(config, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C or SIGTERM: System.CommandLine cancelled the command's token. Reports are only written at the
            // end, each to a temporary name and then renamed, so a replay stopped early leaves the old ones as they were.
            await stderr.WriteLineAsync("replay: cancelled.").ConfigureAwait(false);
            return Cancelled;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Errors.Report(ex, stderr, parse.GetValue(Verbose));
        }
    }
}
