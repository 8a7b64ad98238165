using System.Globalization;
using System.Text.RegularExpressions;
using Replay.Analysis.Html;
using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

public sealed partial class ReportCommandTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public async Task The_HTML_page_holds_every_engine_its_exits_and_charts_and_references_nothing_outside()
    {
        string report = await Report();
        string html = _d.File("out/report.html");
        var (code, stdout, err) = await Cli.RunAsync("report", report, "--html", html);
        Assert.True(code == 0, err);
        Assert.Contains("report.html", stdout);
        Assert.True(File.Exists(html));
        Assert.Empty(Directory.GetFiles(_d.File("out"), "*.tmp"));

        string page = await File.ReadAllTextAsync(html);
        var summary = await ReportReader.ReadSummaryAsync(Path.Combine(report, "summary.parquet"));
        var all = summary.Where(r => r.Phase == "all").ToList();
        Assert.True(all.Count >= 3);
        foreach (var row in all)
        {
            Assert.Contains(row.Engine, page);
            Assert.Contains(">" + row.Exits.ToString("N0", CultureInfo.InvariantCulture) + "<", page);
        }

        Assert.True(SvgTag().Count(page) >= 3, "at least 3 charts");
        Assert.Contains("<polyline", page);
        Assert.Contains("<rect", page);
        foreach (var external in new[] { "http://", "https://", "<script", "@import", "url(", "src=" })
        {
            Assert.DoesNotContain(external, page, StringComparison.OrdinalIgnoreCase);
        }

        var meta = await ReportReader.ReadMetadataAsync(Path.Combine(report, "summary.parquet"));
        Assert.Contains(meta["replay.commit"], page);
        Assert.Contains(meta["replay.trace.sha256"], page);
    }

    [Fact]
    public void Every_report_string_is_HTML_escaped()
    {
        var row = new SummaryRow { Trace = "t<b>&.pq", TraceSha256 = "ab", Engine = "x<script>", Profile = "p\"'", Phase = "all", Exits = 1234, Slowdown = 2.5 };
        var native = row with { Engine = "native", Exits = 0, Slowdown = 1 };
        var exit = new ExitRow { Trace = row.Trace, Engine = row.Engine, Profile = row.Profile, Phase = "all", Reason = "R<1>", Handler = "h&h", Count = 1234 };
        var window = new TimelineRow { Trace = row.Trace, Engine = row.Engine, Profile = row.Profile, Window = 0, LastEvent = 99, Exits = 5, ShadowPages = 2 };
        var meta = new Dictionary<string, string> { ["replay.command"] = "replay <x> & y" };

        string page = HtmlReport.Render([native, row], [exit], [window], meta);
        Assert.Contains("x&lt;script&gt;", page);
        Assert.DoesNotContain("x<script>", page);
        Assert.DoesNotContain("<b>&", page);
        Assert.Contains("t&lt;b&gt;&amp;.pq", page);
        Assert.Contains("R&lt;1&gt; / h&amp;h", page);
        Assert.Contains("replay &lt;x&gt; &amp; y", page);
        Assert.Contains("1,234", page);
        Assert.Contains("2.500×", page);
    }

    [Fact]
    public void An_empty_report_still_renders_a_page()
    {
        string page = HtmlReport.Render([], [], [], new Dictionary<string, string>());
        Assert.StartsWith("<!DOCTYPE html>", page);
        Assert.Contains("</html>", page);
    }

    [Fact]
    public async Task A_missing_folder_is_an_error_and_a_missing_html_option_a_usage_error()
    {
        var (code, _, err) = await Cli.RunAsync("report", _d.File("nope"), "--html", _d.File("r.html"));
        Assert.Equal(1, code);
        Assert.Contains("no such report folder", err);
        Assert.False(File.Exists(_d.File("r.html")));

        Directory.CreateDirectory(_d.File("empty"));
        (code, _, err) = await Cli.RunAsync("report", _d.File("empty"), "--html", _d.File("r.html"));
        Assert.Equal(1, code);
        Assert.Contains("no summary.parquet", err);

        (code, _, _) = await Cli.RunAsync("report", _d.File("empty"));
        Assert.Equal(2, code);
    }

    private async Task<string> Report()
    {
        string trace = _d.File("t.pq");
        var (code, _, err) = await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "4000");
        Assert.True(code == 0, err);
        (code, _, err) = await Cli.RunAsync(trace, "--engine", "all", "--out", _d.File("report"), "--window", "1000");
        Assert.True(code == 0, err);
        return _d.File("report");
    }

    [GeneratedRegex("<svg[ >]")]
    private static partial Regex SvgTag();
}
