using System.CommandLine;
using Replay.Analysis.Reports;

namespace Replay.Cli;

/// <summary><c>replay export REPORT --format csv|json [--out DIR]</c>: the report files as CSV or JSON.</summary>
internal static class ExportCommand
{
    public static Command Build(TextWriter stdout)
    {
        var report = new Argument<string>("report") { Description = "Report folder (as written by 'replay run')." };
        var format = new Option<string>("--format", "-f") { Description = "csv or json.", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "json");
        var output = new Option<string?>("--out", "-o") { Description = "Folder for the exported files (default: the report folder)." };
        var cmd = new Command("export", "Export a report's Parquet files to CSV or JSON (for tools without a Parquet reader).") { report, format, output };
        cmd.SetAction(async (parse, ct) =>
        {
            string dir = parse.GetValue(report)!;
            if (!Directory.Exists(dir))
            {
                throw new UsageException($"{dir}: no such report folder.");
            }

            if (!ReportExporter.FileNames.Any(f => File.Exists(Path.Combine(dir, f))))
            {
                throw new UsageException($"{dir}: no report files in it ({string.Join(", ", ReportExporter.FileNames)}).");
            }

            var fmt = parse.GetValue(format) == "json" ? ExportFormat.Json : ExportFormat.Csv;
            foreach (var path in await ReportExporter.ExportAsync(dir, fmt, parse.GetValue(output) ?? dir, ct).ConfigureAwait(false))
            {
                stdout.WriteLine(path);
            }

            return CliApp.Success;
        });
        return cmd;
    }
}
