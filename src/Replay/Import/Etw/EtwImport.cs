using System.CommandLine;

namespace Replay.Import.Etw;

/// <summary>
/// <c>replay import etw FILE -o OUT</c>: a Windows kernel trace, each DirectoryTableBase an address space with that
/// real root (<see cref="EtwImporter"/>).
/// </summary>
internal sealed class EtwImport : IImporterCommand
{
    public static ImporterDescriptor Descriptor { get; } =
        new("etw", "Import a Windows kernel trace: each DirectoryTableBase is an address space with that real root, CSwitch the schedule, page faults the accesses.", () => new EtwImport());

    private readonly Argument<string> _input = new("input") { Description = "A Windows kernel ETW trace: .etl (or .etl.zip), or TraceEvent's .etlx." };

    private readonly TraceImportOptions _common = new();

    public IEnumerable<Symbol> Symbols => [_input, .. _common.Symbols];

    public async Task<int> RunAsync(ParseResult parse, ImportConsole console, CancellationToken ct)
    {
        string path = parse.GetValue(_input)!;
        if (!_common.TryParse(parse, console, out var options, out var kernel))
        {
            return Cli.CliApp.UsageError;
        }

        var importer = new EtwImporter(path, options);
        string source = TraceImportOptions.Source("etw", [path], options, kernel, "");
        if (importer.MemoryNeeded > kernel.MemoryBytes)
        {
            await console.Stderr.WriteLineAsync($"replay: guest memory raised to {importer.MemoryNeeded >> 30} GiB to hold the trace's DirectoryTableBase frames.").ConfigureAwait(false);
        }

        kernel = kernel with { MemoryBytes = Math.Max(kernel.MemoryBytes, importer.MemoryNeeded), FixedRoots = importer.FixedRoots };
        string output = parse.GetValue(_common.Output)!;
        ImportStats stats = await ImportOutput.WriteAsync(output, kernel, source, importer.Markers, importer.Run, ct).ConfigureAwait(false);
        console.Progress?.Done(); // the bar leaves the line before the result is printed
        await console.Stdout.WriteLineAsync($"{output}: {stats}").ConfigureAwait(false);
        return Cli.CliApp.Success;
    }
}
