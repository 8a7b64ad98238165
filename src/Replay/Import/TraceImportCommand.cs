using System.CommandLine;
using Replay.Cli;
using Replay.Kernel;

namespace Replay.Import;

/// <summary>
/// An import command that writes a SPEC §1 trace with <see cref="TraceImportOptions"/> and nothing else: parses those
/// (a bad kernel option is a usage error, one sentence on stderr), then imports; success once the trace is written.
/// </summary>
internal abstract class TraceImportCommand : IImporterCommand
{
    protected TraceImportOptions Common { get; } = new();

    public abstract IEnumerable<Symbol> Symbols { get; }

    public async Task<int> RunAsync(ParseResult parse, ImportConsole console, CancellationToken ct)
    {
        if (!Common.TryParse(parse, console, out var options, out var kernel))
        {
            return CliApp.UsageError;
        }

        await ImportAsync(parse, console, options, kernel, ct).ConfigureAwait(false);
        return CliApp.Success;
    }

    /// <summary>Reads the input and writes the trace (<see cref="TraceImportOptions.WriteTraceAsync"/>).</summary>
    protected abstract Task ImportAsync(ParseResult parse, ImportConsole console, ImportOptions options, KernelOptions kernel, CancellationToken ct);
}
