using System.CommandLine;
using System.Globalization;
using System.Text;
using Replay.Cli;
using Replay.Kernel;

namespace Replay.Import;

/// <summary>
/// The options every importer that writes a SPEC §1 trace on the guest kernel model shares: <c>-o</c>, the kernel
/// model's options (<see cref="KernelCliOptions"/>), <c>--skip-bad</c> and <c>--limit</c>.
/// </summary>
internal sealed class TraceImportOptions
{
    /// <param name="outputRequired">False for an importer that can write something else instead (xentrace's <c>--report</c>).</param>
    public TraceImportOptions(bool outputRequired = true)
    {
        Output = new("--output", "-o") { Description = "Trace file to write (.pq); written to a temporary name, then renamed.", Required = outputRequired };
    }

    public Option<string> Output { get; }

    public KernelCliOptions Kernel { get; } = new();

    public Option<bool> SkipBad { get; } = new("--skip-bad") { Description = "Count and skip malformed lines or records instead of failing." };

    public Option<long?> Limit { get; } = Cli.NumberOptions.OptionalLong("--limit", "Stop after this many access records.");

    /// <summary>The options in the order <c>--help</c> lists them.</summary>
    public IEnumerable<Symbol> Symbols
    {
        get
        {
            yield return Output;
            foreach (var o in Kernel.Symbols)
            {
                yield return o;
            }

            yield return SkipBad;
            yield return Limit;
        }
    }

    /// <summary>The import and kernel options; false (after one sentence on stderr) when a kernel option is invalid.</summary>
    /// <summary>As below, the options reporting to <paramref name="console"/>'s progress bar.</summary>
    public bool TryParse(ParseResult parse, ImportConsole console, out ImportOptions options, out KernelOptions kernel)
    {
        bool ok = TryParse(parse, console.Stderr, out options, out kernel);
        options = options with { Progress = console.Progress is { } bar ? new ImportProgress(bar) : null };
        return ok;
    }

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

    /// <summary>The <c>replay.source</c> text: the command that made the trace, with the options that differ from the defaults.</summary>
    public static string Source(string format, IEnumerable<string> inputs, ImportOptions o, KernelOptions kernel, string extra)
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

    /// <summary>
    /// The end every such import command shares: writes the trace <paramref name="run"/> produces to <c>-o</c>
    /// (<see cref="ImportOutput.WriteAsync"/>), then, once the progress bar has left its line, prints
    /// <c>OUT: [label]stats</c> on stdout.
    /// </summary>
    public async Task WriteTraceAsync(ParseResult parse, ImportConsole console, KernelOptions kernel, string source,
        IReadOnlyDictionary<ulong, string> markers, Func<IProcessHost, ImportStats> run, CancellationToken ct, string label = "")
    {
        string output = parse.GetValue(Output)!;
        ImportStats stats = await ImportOutput.WriteAsync(output, kernel, source, markers, run, ct).ConfigureAwait(false);
        console.Progress?.Done(); // the bar leaves the line before the result is printed
        await console.Stdout.WriteLineAsync($"{output}: {label}{stats}").ConfigureAwait(false);
    }
}
