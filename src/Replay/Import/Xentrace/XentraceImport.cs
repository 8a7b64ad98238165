using System.CommandLine;
using System.Globalization;
using Replay.Cli;

namespace Replay.Import.Xentrace;

/// <summary>
/// <c>replay import xentrace FILE [--report DIR] [-o TRACE]</c>: Xen's own trace as a measured report (the exits Xen
/// took, checked against xenalyze) and/or one domain's guest memory events as a replayable trace.
/// </summary>
internal sealed class XentraceImport : IImporterCommand
{
    public static ImporterDescriptor Descriptor { get; } = new("xentrace",
        "Import a xentrace binary trace: --report writes the exits Xen measured (engine xen-measured), -o the guest's memory events as a trace.",
        () => new XentraceImport());

    /// <summary>xenalyze's default CPU speed (its <c>--cpu-hz</c>), 2.4 GHz.</summary>
    public const double DefaultCpuHz = 2.4e9;

    private readonly Argument<string> _input = new("file") { Description = "A xentrace file (per-CPU blocks of trace records, as xentrace writes it)." };

    private readonly Option<string?> _report = new("--report")
    {
        Description = "Folder for the measured report (SPEC §5 files, engine xen-measured; phases all, dN per domain, dNvM per vCPU).",
    };

    private readonly Option<int?> _domain = new("--domain") { Description = "Domain whose events -o writes (default: the one with the most guest memory events)." };

    private readonly Option<double> _windowMs = new("--window-ms")
    {
        Description = "Timeline window of the measured report, in milliseconds of TSC time.", DefaultValueFactory = _ => 100,
    };

    private readonly Option<double> _cpuHz = new("--cpu-hz")
    {
        Description = "TSC ticks per second, to turn TSCs into time (xenalyze's default, 2.4 GHz).", DefaultValueFactory = _ => DefaultCpuHz,
    };

    private readonly TraceImportOptions _common = new(outputRequired: false);

    private XentraceImport()
    {
        foreach (var o in new[] { _windowMs, _cpuHz })
        {
            o.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<double>() is not (> 0 and < double.PositiveInfinity))
                {
                    r.AddError($"{r.Option.Name} must be a positive number.");
                }
            });
        }

        _domain.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 0)
            {
                r.AddError("--domain must be 0 or more.");
            }
        });
    }

    public IEnumerable<Symbol> Symbols => [_input, _report, .. _common.Symbols, _domain, _windowMs, _cpuHz];

    public async Task<int> RunAsync(ParseResult parse, ImportConsole console, CancellationToken ct)
    {
        string path = parse.GetValue(_input)!;
        string? report = parse.GetValue(_report);
        string? output = parse.GetValue(_common.Output);
        if (report is null && output is null)
        {
            await console.Stderr.WriteLineAsync("replay: import xentrace needs --report DIR, -o TRACE or both.").ConfigureAwait(false);
            return CliApp.UsageError;
        }

        if (!_common.TryParse(parse, console, out var options, out var kernel))
        {
            return CliApp.UsageError;
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException(null, path);
        }

        var importer = new XentraceImporter(path, options, parse.GetValue(_domain));
        double cpuHz = parse.GetValue(_cpuHz);

        // Everything is read (and any bad input found) before anything is written; each output is written to a
        // temporary name and renamed.
        var measured = report is null ? null : importer.Measure((ulong)Math.Round(parse.GetValue(_windowMs) * cpuHz / 1000));
        if (output is not null)
        {
            int domain = importer.GuestDomain();
            string extra = parse.GetValue(_domain) is int d ? string.Create(CultureInfo.InvariantCulture, $" --domain {d}") : "";
            string source = TraceImportOptions.Source("xentrace", [path], options, kernel, extra);
            await _common.WriteTraceAsync(parse, console, kernel, source, new Dictionary<ulong, string>(), host => importer.Run(host, domain), ct, $"domain {domain}: ")
                .ConfigureAwait(false);
        }

        if (measured is not null)
        {
            string command = "replay " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            await XenMeasuredReport.WriteAsync(report!, measured, path, cpuHz, command, ct).ConfigureAwait(false);
            console.Progress?.Done(); // the bar leaves the line before the result is printed
            await console.Stdout.WriteLineAsync($"{report}: {XenMeasuredReport.Describe(measured, cpuHz)}").ConfigureAwait(false);
        }

        return CliApp.Success;
    }
}
