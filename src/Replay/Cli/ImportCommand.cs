using System.CommandLine;
using System.Globalization;
using System.Text;
using Replay.Gen.Kernel;
using Replay.Import;

namespace Replay.Cli;

/// <summary><c>replay import lackey FILE... -o OUT</c> and <c>replay import drmemtrace DIR_OR_ZIP -o OUT</c>: real access streams as guest processes.</summary>
internal static class ImportCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var cmd = new Command("import", "Import real memory-access traces as processes of the Linux-like guest kernel model (SPEC §1 trace out).");
        cmd.Add(Lackey(stdout, stderr));
        cmd.Add(DrMemTrace(stdout, stderr));
        return cmd;
    }

    private static Command Lackey(TextWriter stdout, TextWriter stderr)
    {
        var files = new Argument<string[]>("files")
        {
            Description = "valgrind lackey (--trace-mem=yes) or CS:APP cache-lab traces, plain or gzip; each becomes one process.",
            Arity = ArgumentArity.OneOrMore,
        };
        var common = new CommonOptions();
        var slice = NumberOptions.Long("--slice", "Records a file runs before the next file's turn (round-robin over files, a context switch each turn).",
            ImportOptions.DefaultSlice);
        var cmd = new Command("lackey", "Import lackey/cache-lab lines (I, L, S, M; M = load then store; ==pid== lines skipped).") { files, slice };
        common.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            string[] inputs = parse.GetValue(files)!;
            if (!common.TryParse(parse, stderr, out var options, out var kernel))
            {
                return CliApp.UsageError;
            }

            options = options with { Slice = parse.GetValue(slice) };
            var importer = new LackeyImporter(inputs, options);
            string source = Source("lackey", inputs, options, kernel, $" --slice {options.Slice}");
            string output = parse.GetValue(common.Output)!;
            ImportStats stats = await ImportOutput.WriteAsync(output, kernel, source, importer.Markers, importer.Run, ct).ConfigureAwait(false);
            await stdout.WriteLineAsync($"{output}: {stats}").ConfigureAwait(false);
            return CliApp.Success;
        });
        return cmd;
    }

    private static Command DrMemTrace(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("input")
        {
            Description = "A drmemtrace trace folder (every *.zip but cpu_schedule.bin.zip is one thread) or one thread's zip.",
        };
        var common = new CommonOptions();
        var cmd = new Command("drmemtrace",
            "Import DynamoRIO drmemtrace offline traces: threads of one PID share an address space, interleaved by timestamp markers.") { input };
        common.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(input)!;
            if (!common.TryParse(parse, stderr, out var options, out var kernel))
            {
                return CliApp.UsageError;
            }

            using var importer = new DrMemTraceImporter(path, options);
            string output = parse.GetValue(common.Output)!;
            ImportStats stats = await ImportOutput.WriteAsync(output, kernel, Source("drmemtrace", [path], options, kernel, ""), importer.Markers, importer.Run, ct)
                .ConfigureAwait(false);
            await stdout.WriteLineAsync($"{output}: {stats}").ConfigureAwait(false);
            return CliApp.Success;
        });
        return cmd;
    }

    private static string Source(string format, IEnumerable<string> inputs, ImportOptions o, KernelOptions kernel, string extra)
    {
        var sb = new StringBuilder($"replay import {format} {string.Join(' ', inputs)}{extra}{KernelCliOptions.Describe(kernel)}");
        if (o.SkipBad)
        {
            sb.Append(" --skip-bad");
        }

        if (o.Limit is long limit)
        {
            sb.Append(CultureInfo.InvariantCulture, $" --limit {limit}");
        }

        return sb.ToString();
    }

    /// <summary>The options both formats share.</summary>
    private sealed class CommonOptions
    {
        public Option<string> Output { get; } = new("--output", "-o") { Description = "Trace file to write (.pq); written to a temporary name, then renamed.", Required = true };

        public KernelCliOptions Kernel { get; } = new();

        public Option<bool> SkipBad { get; } = new("--skip-bad") { Description = "Count and skip malformed lines or records instead of failing." };

        public Option<long?> Limit { get; } = NumberOptions.OptionalLong("--limit", "Stop after this many access records.");

        public void AddTo(Command cmd)
        {
            cmd.Add(Output);
            Kernel.AddTo(cmd);
            cmd.Add(SkipBad);
            cmd.Add(Limit);
        }

        /// <summary>The import and kernel options; false (after one sentence on stderr) when a kernel option is invalid.</summary>
        public bool TryParse(ParseResult parse, TextWriter stderr, out ImportOptions options, out KernelOptions kernel)
        {
            options = new ImportOptions(parse.GetValue(Kernel.Vcpus), ImportOptions.DefaultSlice, parse.GetValue(SkipBad), parse.GetValue(Limit));
            try
            {
                kernel = Kernel.Parse(parse);
                return true;
            }
            catch (ArgumentException e)
            {
                stderr.WriteLine(e.Message);
                kernel = new KernelOptions();
                return false;
            }
        }
    }
}
