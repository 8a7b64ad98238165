using System.CommandLine;

namespace Replay.Import.Etw;

/// <summary>
/// <c>replay import etw FILE -o OUT</c>: a Windows kernel trace, each DirectoryTableBase an address space with that
/// real root (<see cref="EtwImporter"/>).
/// </summary>
internal sealed class EtwImport : TraceImportCommand
{
    public static ImporterDescriptor Descriptor { get; } =
        new("etw", "Import a Windows kernel trace: each DirectoryTableBase is an address space with that real root, CSwitch the schedule, page faults the accesses.", () => new EtwImport());

    private readonly Argument<string> _input = new("input") { Description = "A Windows kernel ETW trace: .etl (or .etl.zip), or TraceEvent's .etlx." };

    public override IEnumerable<Symbol> Symbols => [_input, .. Common.Symbols];

    protected override async Task ImportAsync(ParseResult parse, ImportConsole console, ImportOptions options, Kernel.KernelOptions kernel, CancellationToken ct)
    {
        string path = parse.GetValue(_input)!;
        var importer = new EtwImporter(path, options);
        string source = TraceImportOptions.Source("etw", [path], options, kernel, "");
        if (importer.MemoryNeeded > kernel.MemoryBytes)
        {
            await console.Stderr.WriteLineAsync($"replay: guest memory raised to {importer.MemoryNeeded >> 30} GiB to hold the trace's DirectoryTableBase frames.").ConfigureAwait(false);
        }

        kernel = kernel with { MemoryBytes = Math.Max(kernel.MemoryBytes, importer.MemoryNeeded), FixedRoots = importer.FixedRoots };
        await Common.WriteTraceAsync(parse, console, kernel, source, importer.Markers, importer.Run, ct).ConfigureAwait(false);
    }
}
