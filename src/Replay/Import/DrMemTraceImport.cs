using System.CommandLine;

namespace Replay.Import;

/// <summary><c>replay import drmemtrace DIR_OR_ZIP -o OUT</c>: DynamoRIO offline traces, threads of one PID one process (<see cref="DrMemTraceImporter"/>).</summary>
internal sealed class DrMemTraceImport : IImporterCommand
{
    public static ImporterDescriptor Descriptor { get; } = new("drmemtrace",
        "Import DynamoRIO drmemtrace offline traces: threads of one PID share an address space, interleaved by timestamp markers.",
        () => new DrMemTraceImport());

    private readonly Argument<string> _input = new("input")
    {
        Description = "A drmemtrace trace folder (every *.zip but cpu_schedule.bin.zip is one thread) or one thread's zip.",
    };

    private readonly TraceImportOptions _common = new();

    public IEnumerable<Symbol> Symbols => [_input, .. _common.Symbols];

    public async Task<int> RunAsync(ParseResult parse, ImportConsole console, CancellationToken ct)
    {
        string path = parse.GetValue(_input)!;
        if (!_common.TryParse(parse, console, out var options, out var kernel))
        {
            return Cli.CliApp.UsageError;
        }

        using var importer = new DrMemTraceImporter(path, options);
        string output = parse.GetValue(_common.Output)!;
        ImportStats stats = await ImportOutput.WriteAsync(output, kernel, TraceImportOptions.Source("drmemtrace", [path], options, kernel, ""), importer.Markers, importer.Run, ct)
            .ConfigureAwait(false);
        console.Progress?.Done(); // the bar leaves the line before the result is printed
        await console.Stdout.WriteLineAsync($"{output}: {stats}").ConfigureAwait(false);
        return Cli.CliApp.Success;
    }
}
