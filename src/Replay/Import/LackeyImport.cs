using System.CommandLine;

namespace Replay.Import;

/// <summary><c>replay import lackey FILE... -o OUT</c>: valgrind lackey / cache-lab lines, each file one process (<see cref="LackeyImporter"/>).</summary>
internal sealed class LackeyImport : TraceImportCommand
{
    public static ImporterDescriptor Descriptor { get; } =
        new("lackey", "Import lackey/cache-lab lines (I, L, S, M; M = load then store; ==pid== lines skipped).", () => new LackeyImport());

    private readonly Argument<string[]> _files = new("files")
    {
        Description = "valgrind lackey (--trace-mem=yes) or CS:APP cache-lab traces, plain or gzip; each becomes one process.",
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly Option<long> _slice = Cli.NumberOptions.Long("--slice",
        "Records a file runs before the next file's turn (round-robin over files, a context switch each turn).", ImportOptions.DefaultSlice);

    private LackeyImport()
    {
    }

    public override IEnumerable<Symbol> Symbols => [_files, _slice, .. Common.Symbols];

    protected override async Task ImportAsync(ParseResult parse, ImportConsole console, ImportOptions options, Kernel.KernelOptions kernel, CancellationToken ct)
    {
        string[] inputs = parse.GetValue(_files)!;
        options = options with { Slice = parse.GetValue(_slice) };
        var importer = new LackeyImporter(inputs, options);
        string source = TraceImportOptions.Source("lackey", inputs, options, kernel, $" --slice {options.Slice}");
        await Common.WriteTraceAsync(parse, console, kernel, source, importer.Markers, importer.Run, ct).ConfigureAwait(false);
    }
}
