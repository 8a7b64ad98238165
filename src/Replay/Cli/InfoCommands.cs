using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Replay.Analysis.Costs;
using Replay.Engines.Contract;
using Replay.Engines.Registry;

namespace Replay.Cli;

/// <summary><c>replay engines</c> and <c>replay profiles</c>.</summary>
internal static class InfoCommands
{
    /// <summary>The listings print every character of a description as it is, not as a <c>\u</c> escape.</summary>
    private static readonly JavaScriptEncoder Relaxed = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    public static Command Engines(TextWriter stdout) => Listing(stdout, "engines", "List the engines with their options and defaults.",
        "Print the engines and their options as JSON.",
        () => CliJson.Array(EngineRegistry.All, (w, d) =>
        {
            w.WriteString("name", d.Name);
            w.WriteString("description", d.Description);
            w.WriteStartArray("options");
            foreach (var o in d.Options)
            {
                w.WriteStartObject();
                w.WriteString("name", o.Name);
                w.WriteString("kind", o.Kind.ToString().ToLowerInvariant());
                w.WriteString("default", o.Default);
                if (o.Kind == OptionKind.Int)
                {
                    w.WriteNumber("min", o.Min);
                    w.WriteNumber("max", o.Max);
                }
                else if (o.Kind != OptionKind.Bool)
                {
                    w.WriteStartArray("choices");
                    o.Choices!.ToList().ForEach(w.WriteStringValue);
                    w.WriteEndArray();
                }

                w.WriteString("description", o.Description);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }, Relaxed),
        () =>
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
        });

    public static Command Profiles(TextWriter stdout) => Listing(stdout, "profiles", "List the built-in cost profiles (use --profile NAME or a JSON file).",
        "Print every built-in profile as JSON: name, default, and the whole profile document.",
        () => CliJson.Array(ProfileCatalog.BuiltIn, (w, p) =>
        {
            w.WriteString("name", p.Name);
            w.WriteBoolean("default", p.Name == ProfileCatalog.DefaultName);
            w.WriteString("description", p.Description);
            w.WritePropertyName("profile");
            using var doc = JsonDocument.Parse(p.Json);
            doc.WriteTo(w);
        }, Relaxed),
        () =>
        {
            foreach (var p in ProfileCatalog.BuiltIn)
            {
                string mark = p.Name == ProfileCatalog.DefaultName ? " (default)" : "";
                stdout.WriteLine($"{p.Name,-12} vmexit {p.Transitions.VmExit,6:0} cycles  {p.Description}{mark}");
            }
        });

    /// <summary>A listing command: <paramref name="printText"/>'s lines, or with <c>--json</c> the document <paramref name="json"/> makes.</summary>
    private static Command Listing(TextWriter stdout, string name, string description, string jsonDescription, Func<string> json, Action printText)
    {
        var asJson = new Option<bool>("--json") { Description = jsonDescription };
        var cmd = new Command(name, description) { asJson };
        cmd.SetAction(parse =>
        {
            if (parse.GetValue(asJson))
            {
                stdout.WriteLine(json());
            }
            else
            {
                printText();
            }

            return CliApp.Success;
        });
        return cmd;
    }
}
