using System.CommandLine;
using Replay.Import.Xentrace;

namespace Replay.Import;

/// <summary>
/// One importer as the table knows it: <c>replay import NAME</c>, its one-line description (the subcommand's help
/// and the README's import list), and how to make a fresh <see cref="IImporterCommand"/> (its argument, its options
/// and what it runs) for one command line.
/// </summary>
internal sealed record ImporterDescriptor(string Name, string Description, Func<IImporterCommand> Create);

/// <summary>
/// What one <c>replay import NAME</c> takes and does. <see cref="Symbols"/> are built once per command line (System.CommandLine
/// binds values to the option objects); <see cref="RunAsync"/> returns the exit code (SPEC §6: 0, 1 failure, 2 usage).
/// An import failure throws (<see cref="ImportFormatException"/> for bad input), which the CLI turns into one sentence.
/// </summary>
internal interface IImporterCommand
{
    /// <summary>The command's arguments and options, in the order <c>--help</c> lists them.</summary>
    IEnumerable<Symbol> Symbols { get; }

    Task<int> RunAsync(ParseResult parse, ImportConsole console, CancellationToken ct);
}

/// <summary>Where an importer writes what it says (tests capture both), and the progress bar it draws on stderr (none: null).</summary>
internal sealed record ImportConsole(TextWriter Stdout, TextWriter Stderr)
{
    public Cli.ProgressBar? Progress { get; init; }
}

/// <summary>The one table of importers: feeds <c>replay import</c>'s subcommands and their help, the README list and the tests.</summary>
internal static class ImporterRegistry
{
    public static IReadOnlyList<ImporterDescriptor> All { get; } =
    [
        LackeyImport.Descriptor,
        DrMemTraceImport.Descriptor,
        XentraceImport.Descriptor,
        Etw.EtwImport.Descriptor,
    ];

    public static ImporterDescriptor? Find(string name) => All.FirstOrDefault(d => d.Name == name);
}
