using Replay.Analysis.Costs;
using Replay.Analysis.Reports;
using Replay.Driver;
using Replay.Engines.Contract;
using Replay.Engines.Registry;
using Replay.Import;
using Replay.TraceIO;

namespace Replay.Cli;

/// <summary>
/// Turns any failure into one sentence on stderr and exit code 1, or 2 for an engine asked to replay a guest its
/// real system never runs (a usage error); a stack trace only with --verbose.
/// </summary>
internal static class Errors
{
    public static int Report(Exception ex, TextWriter stderr, bool verbose)
    {
        if (ex is AggregateException { InnerExceptions.Count: 1 } agg)
        {
            ex = agg.InnerExceptions[0];
        }

        string message = ex switch
        {
            TraceFormatException or ImportFormatException or ProfileException or EngineSpecException or TraceWarningException or VerifyException or UsageException
                or InvalidDataException or EngineCannotReplayException => ex.Message,
            FileNotFoundException f => $"{f.FileName ?? "file"}: no such file.",
            DirectoryNotFoundException d => d.Message,
            UnauthorizedAccessException u => u.Message,
            IOException io => io.Message,
            _ => $"unexpected error: {ex.Message}",
        };
        stderr.WriteLine($"replay: {message}");
        if (verbose)
        {
            stderr.WriteLine(ex.ToString());
        }

        // A bad --engine (unknown name, option or value) or an unknown profile name is a usage error like any bad
        // argument (SPEC §6); a profile file that is missing or broken is bad input.
        return ex is EngineCannotReplayException or EngineSpecException or ProfileException { UnknownName: true } or UsageException { Usage: true }
            ? CliApp.UsageError
            : CliApp.Failure;
    }
}

/// <summary>
/// A bad combination of arguments found after parsing; reported like other errors: exit 2 when <paramref name="usage"/>
/// (the arguments alone are wrong), else 1 (what they name is missing or unreadable).
/// </summary>
internal sealed class UsageException(string message, bool usage = false) : Exception(message)
{
    /// <summary>The arguments contradict each other (exit 2), as opposed to naming a missing report (exit 1).</summary>
    public bool Usage => usage;

    /// <summary>
    /// The path of <c>summary.parquet</c> in report folder <paramref name="dir"/>; throws when the folder or the
    /// summary is missing (every command that reads a report starts here).
    /// </summary>
    public static string RequireSummary(string dir)
    {
        string path = Path.Combine(dir, ReportWriter.SummaryFile);
        return File.Exists(path)
            ? path
            : throw new UsageException(Directory.Exists(dir) ? $"{dir}: no {ReportWriter.SummaryFile} in it." : $"{dir}: no such report folder.");
    }
}
