using System.Globalization;
using System.Text.RegularExpressions;
using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

/// <summary>
/// The HTML page rendered from a real replay of the sample trace: log axes, the partial last window, one colour per exit
/// reason across charts, the phase view and cycles by handler, each checked against the report's own Parquet rows.
/// </summary>
public sealed partial class HtmlReportTests : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    private static string Sample(string name) => Path.Combine(SampleTraceTests.RepoRoot(), "traces", name);

    private async Task<(string Report, string Page)> Render(string trace, params string[] extra)
    {
        string report = _d.File(Path.GetFileNameWithoutExtension(trace) + string.Concat(extra));
        var (code, _, err) = await Cli.RunAsync([Sample(trace), "--engine", "all", "--out", report, .. extra]);
        Assert.True(code == 0, err);
        string html = _d.File(Path.GetFileName(report) + ".html");
        (code, _, err) = await Cli.RunAsync("report", report, "--html", html);
        Assert.True(code == 0, err);
        return (report, await File.ReadAllTextAsync(html));
    }

    private static string Chart(string page, string aria)
    {
        var m = Regex.Match(page, "<svg [^>]*aria-label=\"" + Regex.Escape(aria) + "\".*?</svg>", RegexOptions.Singleline);
        Assert.True(m.Success, "no chart " + aria);
        return m.Value;
    }

    private static string Section(string page, string id)
    {
        int start = page.IndexOf("<h2 id=\"" + id + "\">", StringComparison.Ordinal);
        Assert.True(start >= 0, "no section " + id);
        int end = page.IndexOf("<h2", start + 4, StringComparison.Ordinal);
        return page[start..(end < 0 ? page.Length : end)];
    }

    [Fact]
    public async Task The_per_vcpu_section_lists_each_engine_and_vcpu_as_vcpus_parquet_does_and_only_for_several_vcpus()
    {
        // A 1-vCPU sample has no per-vCPU section (its one vCPU is the summary); a 2-vCPU kernel build has one row per
        // (engine, vCPU) with the exits of vcpus.parquet, and a bar per (engine, vCPU) of exits by reason.
        var (_, single) = await Render("ctxswitch.pq");
        Assert.DoesNotContain("<h2 id=\"vcpus\">", single, StringComparison.Ordinal);

        string trace = _d.File("kb2.pq");
        await Cli.RunAsync("gen", "kernel-build", "-o", trace, "--events", "5000", "--vcpus", "2");
        var (code, _, err) = await Cli.RunAsync(trace, "--engine", "shadow-cached", "--engine", "ept", "--out", _d.File("kb2"));
        Assert.True(code == 0, err);
        (code, _, err) = await Cli.RunAsync("report", _d.File("kb2"), "--html", _d.File("kb2.html"));
        Assert.True(code == 0, err);
        string section = Section(await File.ReadAllTextAsync(_d.File("kb2.html")), "vcpus");

        var vcpus = (await ReportReader.ReadVcpusAsync(_d.File("kb2/vcpus.parquet"))).Where(v => v.Phase == "all").ToList();
        Assert.Equal(4, vcpus.Count);
        foreach (var v in vcpus)
        {
            string row = $"<tr><td class=\"l\">{v.Engine}</td><td>{v.Vcpu}</td><td>{v[ReportMetrics.Events].ToString("N0", Inv)}</td><td>{v[ReportMetrics.Exits].ToString("N0", Inv)}</td>";
            Assert.Contains(row, section, StringComparison.Ordinal);
        }

        string chart = Chart(section, "exits by reason per engine and vCPU");
        Assert.Contains("shadow-cached vCPU 1", chart, StringComparison.Ordinal);
        Assert.Contains("ept vCPU 0", chart, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_exits_axis_is_logarithmic_exactly_when_the_engines_totals_span_more_than_a_factor_of_100()
    {
        var (report, page) = await Render("ctxswitch.pq");
        var exits = await ReportReader.ReadExitsAsync(Path.Combine(report, "exits.parquet"));
        var totals = exits.Where(e => e.Phase == "all").GroupBy(e => e.Engine).Select(g => (double)g.Sum(e => e.Count)).Where(v => v > 0).ToList();
        Assert.True(totals.Max() / totals.Min() > 100, "the sample's exit totals span decades (shadow's cr3 exits against ept's fills)");

        string chart = Chart(page, "exits by reason per engine");
        Assert.Contains(">exits (log scale)</text>", chart);

        // Ticks at the powers of ten from just under the smallest total to the first at or above the largest.
        int lo = (int)Math.Ceiling(Math.Log10(totals.Min())) - 1, hi = (int)Math.Ceiling(Math.Log10(totals.Max()));
        var ticks = TickLabel().Matches(chart).Select(m => m.Groups[1].Value).ToList();
        var expected = Enumerable.Range(lo, hi - lo + 1).Select(e => Short(Math.Pow(10, e))).ToList();
        Assert.Equal(expected, ticks);

        // The slowdown chart keeps its linear axis.
        Assert.DoesNotContain("log scale", Chart(page, "slowdown per engine"));
    }

    [Fact]
    public async Task The_last_window_is_marked_partial_when_it_holds_fewer_events_than_the_window()
    {
        var (report, page) = await Render("ctxswitch.pq", "--window", "50000");
        var timeline = await ReportReader.ReadTimelineAsync(Path.Combine(report, "timeline.parquet"));
        var native = timeline.Where(w => w.Engine == "native").OrderBy(w => w.Window).ToList();
        var last = native[^1];
        long lastEvents = last.LastEvent - last.FirstEvent + 1;
        Assert.All(native.SkipLast(1), w => Assert.Equal(50000, w.LastEvent - w.FirstEvent + 1));
        Assert.True(lastEvents < 50000);

        Assert.Contains(string.Create(Inv, $"The last window (window {last.Window}, events {last.FirstEvent:N0}–{last.LastEvent:N0}) is partial: it holds {lastEvents:N0} of 50,000 events"), page);
        foreach (var aria in new[] { "Exits per window", "MMU cycles per window", "Shadow pages per window (at the window&#39;s end)" })
        {
            string chart = Chart(page, aria);
            Assert.Contains("<rect class=\"partial\"", chart);
            Assert.Contains(">partial window</text>", chart);
            Assert.Contains(string.Create(Inv, $"native window {last.Window} (partial):"), chart);
            Assert.DoesNotContain(string.Create(Inv, $"native window {last.Window - 1} (partial)"), chart);
        }
    }

    [Fact]
    public async Task A_full_last_window_is_not_marked_partial()
    {
        // 200,001 events in windows of 200,001: one full window, which the recorded --window says is full.
        var (report, page) = await Render("ctxswitch.pq", "--window", "200001");
        var timeline = await ReportReader.ReadTimelineAsync(Path.Combine(report, "timeline.parquet"));
        Assert.All(timeline, w => Assert.Equal(200001, w.LastEvent - w.FirstEvent + 1));
        Assert.DoesNotContain("class=\"partial\"", page);
        Assert.DoesNotContain("is partial", page);
    }

    [Fact]
    public async Task Each_exit_reason_has_one_colour_the_same_in_every_chart_of_the_page()
    {
        var (report, page) = await Render("ctxswitch.pq");
        var exits = await ReportReader.ReadExitsAsync(Path.Combine(report, "exits.parquet"));
        var fills = ReasonFill().Matches(page).Select(m => (Fill: m.Groups[1].Value, Reason: m.Groups[2].Value)).ToList();
        var byReason = fills.GroupBy(f => f.Reason).ToDictionary(g => g.Key, g => g.Select(f => f.Fill).Distinct().ToList());

        // Every reason of the report is drawn, with exactly one fill, and no two reasons share one.
        var reasons = exits.Select(e => e.Reason).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(reasons, byReason.Keys.Order(StringComparer.Ordinal).ToList());
        Assert.All(byReason, kv => Assert.Single(kv.Value));
        Assert.Equal(reasons.Count, byReason.Values.Select(v => v[0]).Distinct().Count());

        // Drawn in several charts (exits, cycles by handler, the phases' small multiples), each with the same fills.
        var charts = Regex.Matches(page, "<svg .*?</svg>", RegexOptions.Singleline).Select(m => m.Value).Where(c => c.Contains("data-reason=", StringComparison.Ordinal)).ToList();
        Assert.True(charts.Count >= 4, $"{charts.Count} charts colour by reason");
        foreach (var c in charts)
        {
            Assert.All(ReasonFill().Matches(c), m => Assert.Equal(byReason[m.Groups[2].Value][0], m.Groups[1].Value));
        }

        // The palette is keyed by the sorted reason names: CR_ACCESS (first) gets the palette's first colour.
        Assert.Equal("#4e79a7", byReason[reasons[0]][0]);

        // The legend's swatches agree with the bars.
        foreach (var r in reasons.Where(r => exits.Any(e => e.Reason == r && e.Phase == "all")))
        {
            Assert.Contains($"<span class=\"sw\" style=\"background:{byReason[r][0]}\"></span>{r}</span>", page);
        }
    }

    [Fact]
    public async Task The_phase_view_holds_each_phase_row_of_the_summary_with_its_exact_numbers()
    {
        var (report, page) = await Render("ctxswitch.pq");
        var summary = await ReportReader.ReadSummaryAsync(Path.Combine(report, "summary.parquet"));
        var phases = summary.Where(r => r.Phase != "all").ToList();
        Assert.Equal(["warmup", "steady"], phases.Select(r => r.Phase).Distinct().ToList());

        string section = Section(page, "phases");
        var rows = Regex.Matches(section, "<tr><td class=\"l\">([^<]*)</td><td class=\"l\">([^<]*)</td>((?:<td>[^<]*</td>)+)</tr>")
            .Select(m => (Phase: m.Groups[1].Value, Engine: m.Groups[2].Value, Cells: Regex.Matches(m.Groups[3].Value, "<td>([^<]*)</td>").Select(c => c.Groups[1].Value).ToList()))
            .ToList();
        Assert.Equal(phases.Count, rows.Count);
        foreach (var r in phases)
        {
            var row = Assert.Single(rows, x => x.Phase == r.Phase && x.Engine == r.Engine);
            Assert.Equal(
                [N(r.Events), N(r.Accesses), N(r.Exits), N(r.ExitCycles), N(r.MmuCycles), N(r.OverheadCycles), r.Slowdown.ToString("0.000", Inv) + "×"],
                row.Cells);
        }

        // The phases cover the trace from its first marker on: never more events than the whole trace, the same for every engine.
        foreach (var g in phases.GroupBy(r => r.Engine))
        {
            Assert.InRange(g.Sum(r => r.Events), 1, summary.Single(r => r.Engine == g.Key && r.Phase == "all").Events);
        }

        Assert.Single(phases.GroupBy(r => r.Engine).Select(g => g.Sum(r => r.Events)).Distinct());

        Assert.Contains("<h4>phase warmup</h4>", section);
        Assert.Contains("<h4>phase steady</h4>", section);
        Assert.Contains("aria-label=\"exits by reason per engine in phase steady\"", section);
    }

    [Fact]
    public async Task Cycles_by_handler_lists_each_exit_kind_with_its_count_and_cycles_from_exits_parquet()
    {
        var (report, page) = await Render("ctxswitch.pq");
        var exits = (await ReportReader.ReadExitsAsync(Path.Combine(report, "exits.parquet"))).Where(e => e.Phase == "all").ToList();
        var summary = await ReportReader.ReadSummaryAsync(Path.Combine(report, "summary.parquet"));
        string section = Section(page, "cycles-by-handler");
        var rows = Regex.Matches(section, "<tr><td class=\"l\">([^<]*)</td><td class=\"l\">(?:<span[^>]*><span[^>]*></span></span>)?([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>")
            .Select(m => (Engine: m.Groups[1].Value, Key: m.Groups[2].Value, Count: m.Groups[3].Value, Cycles: m.Groups[4].Value, PerExit: m.Groups[5].Value)).ToList();
        Assert.Equal(exits.Count, rows.Count);
        foreach (var e in exits)
        {
            var row = Assert.Single(rows, r => r.Engine == e.Engine && r.Key == e.Reason + " / " + e.Handler);
            Assert.Equal(N(e.Count), row.Count);
            Assert.Equal(N(e.Cycles), row.Cycles);
            Assert.Equal((e.Cycles / e.Count).ToString("0.#", Inv), row.PerExit);
        }

        // Each engine's bar ends at the sum of its handlers' cycles, which is the summary's exit_cycles.
        string chart = Chart(page, "cycles by handler per engine");
        Assert.Contains(">cycles (log scale)</text>", chart);
        foreach (var g in exits.GroupBy(e => e.Engine))
        {
            double total = g.Sum(e => e.Cycles);
            Assert.Equal(summary.Single(r => r.Engine == g.Key && r.Phase == "all").ExitCycles, total, 6);
            Assert.Contains(">" + N(total) + "</text>", chart);
        }
    }

    [Fact]
    public async Task Several_report_folders_render_side_by_side_with_one_reason_palette()
    {
        var (a, _) = await Render("ctxswitch.pq");
        var (b, _) = await Render("demand.pq");
        string html = _d.File("both.html");
        var (code, _, err) = await Cli.RunAsync("report", a, b, "--html", html);
        Assert.True(code == 0, err);
        string page = await File.ReadAllTextAsync(html);
        Assert.Contains("<h3>ctxswitch", page);
        Assert.Contains("<h3>demand", page);
        var fills = ReasonFill().Matches(page).GroupBy(m => m.Groups[2].Value).ToDictionary(g => g.Key, g => g.Select(m => m.Groups[1].Value).Distinct().Count());
        Assert.All(fills, kv => Assert.Equal(1, kv.Value));
    }

    private static string N(long v) => v.ToString("N0", Inv);

    private static string N(double v) => v.ToString("N0", Inv);

    private static string Short(double v) =>
        v >= 1e9 ? (v / 1e9).ToString("0.##", Inv) + "G" : v >= 1e6 ? (v / 1e6).ToString("0.##", Inv) + "M" : v >= 1e3 ? (v / 1e3).ToString("0.##", Inv) + "k" : v.ToString("0.##", Inv);

    [GeneratedRegex("fill=\"([^\"]+)\" data-reason=\"([^\"]+)\"")]
    private static partial Regex ReasonFill();

    [GeneratedRegex("<text x=\"[^\"]*\" y=\"[^\"]*\" text-anchor=\"middle\" class=\"ax\">([^<]*)</text>")]
    private static partial Regex TickLabel();
}
