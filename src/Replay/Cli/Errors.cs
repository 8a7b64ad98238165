using Replay.Analysis.Costs;
using Replay.Driver;
using Replay.Engines.Contract;
using Replay.Trace;

namespace Replay.Cli;

/// <summary>Turns any failure into one sentence on stderr and exit code 1 (a stack trace only with --verbose).</summary>
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
            TraceFormatException or ProfileException or EngineSpecException or TraceWarningException or VerifyException or UsageException
                or InvalidDataException => ex.Message,
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

        return CliApp.Failure;
    }
}

/// <summary>A bad combination of arguments found after parsing; reported like other errors.</summary>
internal sealed class UsageException(string message) : Exception(message);
