using System.CommandLine;
using System.Text;
using Replay.Analysis.Html;
using Replay.Analysis.Reports;

namespace Replay.Cli;

/// <summary><c>replay report REPORT --html FILE</c>: one self-contained HTML page (tables and SVG charts) for a report folder.</summary>
internal static class ReportCommand
{
    public static Command Build(TextWriter stdout)
    {
        var report = new Argument<string>("report") { Description = "Report folder (as written by 'replay run')." };
        var html = new Option<string>("--html") { Description = "HTML file to write (self-contained: no scripts or external references).", Required = true };
        var cmd = new Command("report", "Render a report folder as one self-contained HTML page with tables and charts.") { report, html };
        cmd.SetAction(async (parse, ct) =>
        {
            string dir = parse.GetValue(report)!;
            string summaryPath = UsageException.RequireSummary(dir);

            var summary = await ReportReader.ReadSummaryAsync(summaryPath, ct).ConfigureAwait(false);
            var metadata = await ReportReader.ReadMetadataAsync(summaryPath, ct).ConfigureAwait(false);
            string exitsPath = Path.Combine(dir, ReportWriter.ExitsFile);
            var exits = File.Exists(exitsPath) ? await ReportReader.ReadExitsAsync(exitsPath, ct).ConfigureAwait(false) : [];
            string timelinePath = Path.Combine(dir, ReportWriter.TimelineFile);
            var timeline = File.Exists(timelinePath) ? await ReportReader.ReadTimelineAsync(timelinePath, ct).ConfigureAwait(false) : [];

            string page = HtmlReport.Render(summary, exits, timeline, metadata);
            string final = Path.GetFullPath(parse.GetValue(html)!);
            string? folder = Path.GetDirectoryName(final);
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
            }

            string temp = Path.Combine(folder ?? ".", ReportWriter.TempName(Path.GetFileName(final)));
            try
            {
                await File.WriteAllTextAsync(temp, page, new UTF8Encoding(false), ct).ConfigureAwait(false);
                File.Move(temp, final, overwrite: true);
            }
            finally
            {
                File.Delete(temp); // no-op once renamed
            }

            stdout.WriteLine(final);
            return CliApp.Success;
        });
        return cmd;
    }
}
