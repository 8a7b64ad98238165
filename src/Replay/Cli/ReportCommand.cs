using System.CommandLine;
using System.Text;
using Replay.Analysis.Html;
using Replay.Analysis.Reports;

namespace Replay.Cli;

/// <summary><c>replay report REPORT... --html FILE</c>: one self-contained HTML page (tables and SVG charts) for report folders, side by side.</summary>
internal static class ReportCommand
{
    public static Command Build(TextWriter stdout)
    {
        var reports = new Argument<string[]>("reports")
        {
            Description = "Report folders (as written by 'replay run', or a measured one by 'replay import xentrace --report'), shown side by side; " +
                "the provenance is the first one's.",
            Arity = ArgumentArity.OneOrMore,
        };
        var html = new Option<string>("--html") { Description = "HTML file to write (self-contained: no scripts or external references).", Required = true };
        var cmd = new Command("report", "Render report folders as one self-contained HTML page with tables and charts.") { reports, html };
        cmd.SetAction(async (parse, ct) =>
        {
            var summary = new List<SummaryRow>();
            var exits = new List<ExitRow>();
            var timeline = new List<TimelineRow>();
            var vcpus = new List<VcpuRow>();
            var vcpuExits = new List<VcpuExitRow>();
            IReadOnlyDictionary<string, string>? metadata = null;
            foreach (string dir in parse.GetValue(reports)!)
            {
                string summaryPath = UsageException.RequireSummary(dir);
                summary.AddRange(await ReportReader.ReadSummaryAsync(summaryPath, ct).ConfigureAwait(false));
                metadata ??= await ReportReader.ReadMetadataAsync(summaryPath, ct).ConfigureAwait(false);
                string exitsPath = Path.Combine(dir, ReportWriter.ExitsFile);
                exits.AddRange(File.Exists(exitsPath) ? await ReportReader.ReadExitsAsync(exitsPath, ct).ConfigureAwait(false) : []);
                string timelinePath = Path.Combine(dir, ReportWriter.TimelineFile);
                timeline.AddRange(File.Exists(timelinePath) ? await ReportReader.ReadTimelineAsync(timelinePath, ct).ConfigureAwait(false) : []);
                string vcpusPath = Path.Combine(dir, ReportWriter.VcpusFile);
                vcpus.AddRange(File.Exists(vcpusPath) ? await ReportReader.ReadVcpusAsync(vcpusPath, ct).ConfigureAwait(false) : []);
                string vcpuExitsPath = Path.Combine(dir, ReportWriter.VcpuExitsFile);
                vcpuExits.AddRange(File.Exists(vcpuExitsPath) ? await ReportReader.ReadVcpuExitsAsync(vcpuExitsPath, ct).ConfigureAwait(false) : []);
            }

            string page = HtmlReport.Render(summary, exits, timeline, metadata!, vcpus, vcpuExits);
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
