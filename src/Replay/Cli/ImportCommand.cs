using System.CommandLine;
using Replay.Import;

namespace Replay.Cli;

/// <summary><c>replay import NAME ...</c>: one subcommand per entry of <see cref="ImporterRegistry"/>.</summary>
internal static class ImportCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var cmd = new Command("import", "Import real memory-access traces as processes of the Linux-like guest kernel model (SPEC §1 trace out).");
        var console = new ImportConsole(stdout, stderr);
        foreach (var d in ImporterRegistry.All)
        {
            IImporterCommand importer = d.Create();
            var sub = new Command(d.Name, d.Description);
            foreach (var s in importer.Symbols)
            {
                switch (s)
                {
                    case Argument a:
                        sub.Add(a);
                        break;
                    case Option o:
                        sub.Add(o);
                        break;
                    default:
                        throw new InvalidOperationException($"importer {d.Name}: {s.Name} is neither an argument nor an option.");
                }
            }

            sub.SetAction(async (parse, ct) =>
            {
                // The same bar as run and gen: on stderr, drawn only when it is a terminal.
                using var bar = new ProgressBar(stderr);
                return await importer.RunAsync(parse, console with { Progress = bar }, ct).ConfigureAwait(false);
            });
            cmd.Add(sub);
        }

        return cmd;
    }
}
