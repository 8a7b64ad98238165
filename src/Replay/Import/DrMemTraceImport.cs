using System.CommandLine;

namespace Replay.Import;

/// <summary><c>replay import drmemtrace DIR_OR_ZIP -o OUT</c>: DynamoRIO offline traces, threads of one PID one process (<see cref="DrMemTraceImporter"/>).</summary>
internal sealed class DrMemTraceImport : TraceImportCommand
{
    public static ImporterDescriptor Descriptor { get; } = new("drmemtrace",
        "Import DynamoRIO drmemtrace offline traces: threads of one PID share an address space, interleaved by timestamp markers.",
        () => new DrMemTraceImport());

    private readonly Argument<string> _input = new("input")
    {
        Description = "A drmemtrace trace folder (every *.zip but cpu_schedule.bin.zip is one thread) or one thread's zip.",
    };

    public override IEnumerable<Symbol> Symbols => [_input, .. Common.Symbols];

    protected override async Task ImportAsync(ParseResult parse, ImportConsole console, ImportOptions options, Kernel.KernelOptions kernel, CancellationToken ct)
    {
        string path = parse.GetValue(_input)!;
        using var importer = new DrMemTraceImporter(path, options);
        string source = TraceImportOptions.Source("drmemtrace", [path], options, kernel, "");
        await Common.WriteTraceAsync(parse, console, kernel, source, importer.Markers, importer.Run, ct).ConfigureAwait(false);
    }
}
