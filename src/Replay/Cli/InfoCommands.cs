using System.CommandLine;
using Replay.Analysis.Costs;
using Replay.Engines.Contract;
using Replay.Engines.Registry;

namespace Replay.Cli;

/// <summary><c>replay engines</c> and <c>replay profiles</c>.</summary>
internal static class InfoCommands
{
    public static Command Engines(TextWriter stdout)
    {
        var cmd = new Command("engines", "List the engines with their options and defaults.");
        cmd.SetAction(_ =>
        {
            foreach (var d in EngineRegistry.All)
            {
                stdout.WriteLine($"{d.Name}");
                stdout.WriteLine($"    {d.Description}");
                foreach (var o in d.Options)
                {
                    string values = o.Kind switch
                    {
                        OptionKind.Bool => "true|false",
                        OptionKind.Int when o.Default == EngineOption.Auto => $"auto|{o.Min}..{o.Max}",
                        OptionKind.Int => $"{o.Min}..{o.Max}",
                        _ => string.Join("|", o.Choices!),
                    };
                    stdout.WriteLine($"    {o.Name + "=" + o.Default,-20} ({values}) {o.Description}");
                }
            }

            stdout.WriteLine();
            stdout.WriteLine("Use: --engine NAME[:key=value,...]  (repeatable; 'all' = every engine)");
            return CliApp.Success;
        });
        return cmd;
    }

    public static Command Profiles(TextWriter stdout)
    {
        var cmd = new Command("profiles", "List the built-in cost profiles (use --profile NAME or a JSON file).");
        cmd.SetAction(_ =>
        {
            foreach (var p in ProfileCatalog.BuiltIn)
            {
                string mark = p.Name == ProfileCatalog.DefaultName ? " (default)" : "";
                stdout.WriteLine($"{p.Name,-12} vmexit {p.Transitions.VmExit,6:0} cycles  {p.Description}{mark}");
            }

            return CliApp.Success;
        });
        return cmd;
    }
}
