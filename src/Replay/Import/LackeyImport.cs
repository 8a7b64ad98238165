using System.CommandLine;

namespace Replay.Import;

/// <summary><c>replay import lackey FILE... -o OUT</c>: valgrind lackey / cache-lab lines, each file one process (<see cref="LackeyImporter"/>).</summary>
internal sealed class LackeyImport : IImporterCommand
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

    private readonly TraceImportOptions _common = new();

    private LackeyImport()
    {
    }

    public IEnumerable<Symbol> Symbols => [_files, _slice, .. _common.Symbols];

    public async Task<int> RunAsync(ParseResult parse, ImportConsole console, CancellationToken ct)
    {
        string[] inputs = parse.GetValue(_files)!;
        if (!_common.TryParse(parse, console, out var options, out var kernel))
        {
            return Cli.CliApp.UsageError;
        }

        options = options with { Slice = parse.GetValue(_slice) };
        var importer = new LackeyImporter(inputs, options);
        string source = TraceImportOptions.Source("lackey", inputs, options, kernel, $" --slice {options.Slice}");
        string output = parse.GetValue(_common.Output)!;
        ImportStats stats = await ImportOutput.WriteAsync(output, kernel, source, importer.Markers, importer.Run, ct).ConfigureAwait(false);
        console.Progress?.Done(); // the bar leaves the line before the result is printed
        await console.Stdout.WriteLineAsync($"{output}: {stats}").ConfigureAwait(false);
        return Cli.CliApp.Success;
    }
}
