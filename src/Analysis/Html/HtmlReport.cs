using System.Globalization;
using System.Text;
using Replay.Analysis.Reports;
using static Replay.Analysis.Html.Svg;

namespace Replay.Analysis.Html;

/// <summary>
/// One self-contained HTML page for a report folder: inline CSS and inline SVG charts drawn here, no scripts, fonts,
/// images or any other external reference. Every string from the report is HTML-escaped; numbers are formatted with
/// the invariant culture.
/// </summary>
public static class HtmlReport
{
    private const string PhaseAll = "all";
    private const string WithinExit = "WITHIN_EXIT";
    private const double ChartWidth = 1160;

    private static readonly string[] Dashes = ["", "7 4", "2 3", "10 3 2 3", "4 4"];

    private const string Css = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d2329;background:#fff;margin:0;}
        main{max-width:1200px;margin:0 auto;padding:20px 20px 60px;}
        h1{font-size:26px;margin:8px 0 4px;} h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #dde3e8;padding-bottom:4px;}
        h3{font-size:16px;margin:18px 0 6px;color:#33414e;}
        .sub{color:#56636f;margin:0 0 12px;} .note{color:#56636f;font-size:13px;margin:4px 0;}
        table{border-collapse:collapse;font-size:13px;margin:6px 0 10px;}
        th,td{padding:4px 9px;border-bottom:1px solid #e3e8ec;text-align:right;white-space:nowrap;}
        th{background:#f3f6f8;font-weight:600;} td.l,th.l{text-align:left;}
        tr:hover td{background:#f8fafb;}
        table.prov td{text-align:left;white-space:normal;word-break:break-all;} table.prov th{text-align:left;width:170px;}
        code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;}
        pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px;max-height:360px;}
        svg{display:block;max-width:100%;height:auto;font-family:inherit;}
        svg text{font-size:12px;fill:#1d2329;} svg text.in{fill:#fff;font-size:11px;} svg text.ax{fill:#56636f;font-size:11px;}
        svg text.t{font-size:13px;font-weight:600;}
        svg .grid{stroke:#e6eaee;stroke-width:1;} svg .axis{stroke:#8a96a0;stroke-width:1;}
        .legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;margin:4px 0 8px;}
        .legend span.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-2px;margin-right:5px;}
        .legend span.ln{display:inline-block;width:22px;height:0;border-top:3px solid;vertical-align:3px;margin-right:5px;}
        .scroll{overflow-x:auto;}
        """;

    public static string Render(
        IReadOnlyList<SummaryRow> summary,
        IReadOnlyList<ExitRow> exits,
        IReadOnlyList<TimelineRow> timeline,
        IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(exits);
        ArgumentNullException.ThrowIfNull(timeline);
        ArgumentNullException.ThrowIfNull(metadata);

        var all = summary.Where(r => r.Phase == PhaseAll).ToList();
        var traces = summary.Select(r => r.Trace).Concat(timeline.Select(t => t.Trace)).Distinct(StringComparer.Ordinal).ToList();
        var profiles = summary.Select(r => r.Profile).Distinct(StringComparer.Ordinal).ToList();
        bool manyProfiles = profiles.Count > 1;
        string Label(string engine, string profile) => manyProfiles ? $"{engine} [{profile}]" : engine;

        // One colour per engine (and profile) across every chart.
        var engineColor = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in summary.Select(r => Label(r.Engine, r.Profile)).Concat(timeline.Select(t => Label(t.Engine, t.Profile))))
        {
            engineColor.TryAdd(key, engineColor.Count);
        }

        var sb = new StringBuilder(64 * 1024);
        string title = "replay report — " + (traces.Count == 0 ? "(no traces)" : string.Join(", ", traces));
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(title)).Append("</title><style>").Append(Css).Append("</style></head><body><main>\n");
        sb.Append("<h1>").Append(E(title)).Append("</h1>\n");
        sb.Append("<p class=\"sub\">Cost profile: <b>").Append(E(profiles.Count == 0 ? "(none)" : string.Join(", ", profiles))).Append("</b> · ")
            .Append(N((long)engineColor.Count)).Append(" engine configuration(s) · ").Append(N((long)traces.Count)).Append(" trace(s)</p>\n");

        Provenance(sb, metadata, all, traces);
        SummaryTables(sb, all, traces, Label);
        ExitCharts(sb, all, exits, traces, Label);
        SlowdownCharts(sb, all, traces, Label, engineColor);
        Timelines(sb, timeline, traces, Label, engineColor);

        sb.Append("</main></body></html>\n");
        return sb.ToString();
    }

    private static string Meta(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out var v) && !string.IsNullOrEmpty(v) ? v : "(not recorded)";

    private static void Provenance(StringBuilder sb, IReadOnlyDictionary<string, string> metadata, List<SummaryRow> all, List<string> traces)
    {
        sb.Append("<h2>Provenance</h2>\n<table class=\"prov\">");
        void Row(string k, string v) => sb.Append("<tr><th>").Append(E(k)).Append("</th><td><code>").Append(E(v)).Append("</code></td></tr>");
        Row("replay.version", Meta(metadata, "replay.version"));
        Row(ReportWriter.SchemaVersionKey, ReportReader.SchemaVersion(metadata).ToString(CultureInfo.InvariantCulture));
        Row("replay.commit", Meta(metadata, "replay.commit"));
        Row("replay.command", Meta(metadata, "replay.command"));
        Row("replay.trace.sha256", Meta(metadata, "replay.trace.sha256"));
        foreach (var t in traces)
        {
            var sha = all.FirstOrDefault(r => r.Trace == t)?.TraceSha256;
            if (sha is not null)
            {
                Row("sha256 of " + t, sha);
            }
        }

        sb.Append("</table>\n");
        if (metadata.TryGetValue("replay.profile", out var profile) && !string.IsNullOrEmpty(profile))
        {
            sb.Append("<details><summary class=\"note\">Cost profile JSON (replay.profile)</summary><pre>").Append(E(profile)).Append("</pre></details>\n");
        }
    }

    private static void SummaryTables(StringBuilder sb, List<SummaryRow> all, List<string> traces, Func<string, string, string> label)
    {
        sb.Append("<h2>Summary (phase all)</h2>\n");
        if (all.Count == 0)
        {
            sb.Append("<p class=\"note\">No summary rows for phase all.</p>\n");
            return;
        }

        foreach (var t in traces)
        {
            var rows = all.Where(r => r.Trace == t).ToList();
            if (rows.Count == 0)
            {
                continue;
            }

            // The columns are the metrics ReportMetrics declares as shown, in their order.
            var shown = rows[0].Values.Layout.Set.Shown;
            sb.Append("<h3>").Append(E(t)).Append("</h3>\n<div class=\"scroll\"><table><tr><th class=\"l\">engine</th>");
            foreach (var m in shown)
            {
                sb.Append("<th>").Append(E(m.Name)).Append("</th>");
            }

            sb.Append("</tr>\n");
            foreach (var r in rows)
            {
                sb.Append("<tr><td class=\"l\">").Append(E(label(r.Engine, r.Profile))).Append("</td>");
                foreach (var m in shown)
                {
                    sb.Append("<td>").Append(Cell(r, m)).Append("</td>");
                }

                sb.Append("</tr>\n");
            }

            sb.Append("</table></div>\n");
        }
    }

    private static string Cell(SummaryRow r, ReportMetric m) => r.Values.AsDouble(m) is not { } v ? "n/a"
        : m.Show!.Format == MetricFormat.Ratio ? Slowdown(v)
        : m.ValueType == typeof(long) ? N(r.Get((ReportMetric<long>)m))
        : N(v);

    private static void ExitCharts(
        StringBuilder sb, List<SummaryRow> all, IReadOnlyList<ExitRow> exits, List<string> traces, Func<string, string, string> label)
    {
        sb.Append("<h2>Exits by reason and handler (phase all)</h2>\n")
            .Append("<p class=\"note\">One bar per engine; segments are exit reason / handler, labelled with their count when they fit ")
            .Append("(hover a segment for its count). WITHIN_EXIT is handler work done inside another exit: drawn, but not counted in the number at a bar's end, which equals summary exits.</p>\n");
        foreach (var t in traces)
        {
            var engines = all.Where(r => r.Trace == t).Select(r => label(r.Engine, r.Profile)).Distinct(StringComparer.Ordinal).ToList();
            var rows = exits.Where(e => e.Trace == t && e.Phase == PhaseAll).ToList();
            foreach (var e in rows.Select(e => label(e.Engine, e.Profile)))
            {
                if (!engines.Contains(e))
                {
                    engines.Add(e);
                }
            }

            if (engines.Count == 0)
            {
                continue;
            }

            // Segment keys ordered by their total count, largest first; one colour each.
            var keys = rows.GroupBy(e => KindKey(e)).Select(g => (Key: g.Key, Total: g.Sum(x => x.Count)))
                .OrderByDescending(k => k.Total).ThenBy(k => k.Key, StringComparer.Ordinal).Select(k => k.Key).ToList();
            var counts = rows.GroupBy(e => (label(e.Engine, e.Profile), KindKey(e)))
                .ToDictionary(g => g.Key, g => g.Sum(x => x.Count));
            long Count(string engine, string key) => counts.TryGetValue((engine, key), out var c) ? c : 0;

            var totals = engines.ToDictionary(en => en, en => keys.Sum(k => Count(en, k)), StringComparer.Ordinal);
            double labelW = Math.Clamp(engines.Max(en => TextWidth(en, 12)) + 16, 120, 300);
            const double right = 90, top = 28, barH = 24, gap = 10, bottom = 8;
            double plotW = ChartWidth - labelW - right;
            double height = top + engines.Count * (barH + gap) + bottom;
            var (max, step) = Ticks(totals.Values.DefaultIfEmpty(0).Max());

            sb.Append("<h3>").Append(E(t)).Append("</h3>\n");
            var svg = new StringBuilder();
            svg.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {F(ChartWidth)} {F(height)}\" width=\"{F(ChartWidth)}\" role=\"img\" aria-label=\"exits by reason per engine\">");
            for (double v = 0; v <= max + step / 2; v += step)
            {
                double x = labelW + v / max * plotW;
                svg.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{F(x)}\" y1=\"{F(top - 4)}\" x2=\"{F(x)}\" y2=\"{F(height - bottom)}\"/>");
                Text(svg, x, top - 10, Short(v), "middle", "ax");
            }

            for (int i = 0; i < engines.Count; i++)
            {
                string en = engines[i];
                double y = top + i * (barH + gap) + gap / 2;
                Text(svg, labelW - 8, y + barH / 2 + 4, Fit(en, labelW - 10, 12), "end");
                double x = labelW;
                for (int k = 0; k < keys.Count; k++)
                {
                    long c = Count(en, keys[k]);
                    if (c == 0)
                    {
                        continue;
                    }

                    double w = c / max * plotW;
                    svg.Append(CultureInfo.InvariantCulture,
                        $"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(Math.Max(w, 0.5))}\" height=\"{F(barH)}\" fill=\"{Color(k)}\" stroke=\"#fff\" stroke-width=\"0.5\"><title>{E(en)}: {E(keys[k])}: {N(c)}</title></rect>");
                    string lbl = N(c);
                    if (TextWidth(lbl, 11) + 6 < w)
                    {
                        Text(svg, x + w / 2, y + barH / 2 + 4, lbl, "middle", "in");
                    }

                    x += w;
                }

                Text(svg, x + 6, y + barH / 2 + 4, N(keys.Where(k => !k.StartsWith(WithinExit + " /", StringComparison.Ordinal)).Sum(k => Count(en, k))));
            }

            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{F(labelW)}\" y1=\"{F(top - 4)}\" x2=\"{F(labelW)}\" y2=\"{F(height - bottom)}\"/>");
            svg.Append("</svg>");
            sb.Append(svg).Append('\n');

            if (keys.Count == 0)
            {
                sb.Append("<p class=\"note\">No exits in this trace.</p>\n");
                continue;
            }

            sb.Append("<div class=\"legend\">");
            for (int k = 0; k < keys.Count; k++)
            {
                sb.Append("<span><span class=\"sw\" style=\"background:").Append(Color(k)).Append("\"></span>").Append(E(keys[k])).Append("</span>");
            }

            sb.Append("</div>\n");

            // The counts behind the chart: reason / handler × engine.
            sb.Append("<div class=\"scroll\"><table><tr><th class=\"l\">reason / handler</th>");
            foreach (var en in engines)
            {
                sb.Append("<th>").Append(E(en)).Append("</th>");
            }

            sb.Append("</tr>\n");
            for (int k = 0; k < keys.Count; k++)
            {
                sb.Append("<tr><td class=\"l\"><span class=\"legend\" style=\"display:inline\"><span class=\"sw\" style=\"background:").Append(Color(k))
                    .Append("\"></span></span>").Append(E(keys[k])).Append("</td>");
                foreach (var en in engines)
                {
                    long c = Count(en, keys[k]);
                    sb.Append("<td>").Append(c == 0 ? "·" : N(c)).Append("</td>");
                }

                sb.Append("</tr>\n");
            }

            sb.Append("</table></div>\n");
        }
    }

    private static string KindKey(ExitRow e) => e.Reason + " / " + e.Handler;

    private static void SlowdownCharts(
        StringBuilder sb, List<SummaryRow> all, List<string> traces, Func<string, string, string> label, Dictionary<string, int> engineColor)
    {
        sb.Append("<h2>Overhead against native (slowdown ×, phase all)</h2>\n")
            .Append("<p class=\"note\">slowdown = total_cycles / native's total_cycles; the dashed line marks native (1×). ")
            .Append("The label gives the slowdown and the overhead cycles.</p>\n");
        foreach (var t in traces)
        {
            var rows = all.Where(r => r.Trace == t).ToList();
            if (rows.Count == 0)
            {
                continue;
            }

            double labelW = Math.Clamp(rows.Max(r => TextWidth(label(r.Engine, r.Profile), 12)) + 16, 120, 300);
            const double right = 250, top = 28, barH = 22, gap = 10, bottom = 8;
            double plotW = ChartWidth - labelW - right;
            double height = top + rows.Count * (barH + gap) + bottom;
            double finiteMax = rows.Select(r => r.Slowdown).Where(double.IsFinite).DefaultIfEmpty(1).Max();
            var (max, step) = Ticks(Math.Max(finiteMax, 1), 5);

            sb.Append("<h3>").Append(E(t)).Append("</h3>\n");
            var svg = new StringBuilder();
            svg.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {F(ChartWidth)} {F(height)}\" width=\"{F(ChartWidth)}\" role=\"img\" aria-label=\"slowdown per engine\">");
            for (double v = 0; v <= max + step / 2; v += step)
            {
                double x = labelW + v / max * plotW;
                svg.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{F(x)}\" y1=\"{F(top - 4)}\" x2=\"{F(x)}\" y2=\"{F(height - bottom)}\"/>");
                Text(svg, x, top - 10, v.ToString("0.###", CultureInfo.InvariantCulture) + "×", "middle", "ax");
            }

            for (int i = 0; i < rows.Count; i++)
            {
                var r = rows[i];
                string en = label(r.Engine, r.Profile);
                double y = top + i * (barH + gap) + gap / 2;
                Text(svg, labelW - 8, y + barH / 2 + 4, Fit(en, labelW - 10, 12), "end");
                double v = double.IsFinite(r.Slowdown) ? Math.Max(r.Slowdown, 0) : max;
                double w = v / max * plotW;
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{F(labelW)}\" y=\"{F(y)}\" width=\"{F(Math.Max(w, 0.5))}\" height=\"{F(barH)}\" fill=\"{Color(engineColor[en])}\"><title>{E(en)}: {Slowdown(r.Slowdown)}</title></rect>");
                double one1 = labelW + 1 / max * plotW;
                double lx = Math.Max(labelW + w, one1) + 6; // a bar under 1× has its label start clear of the 1× line
                string over = r.OverheadCycles >= 0 ? "+" + N(r.OverheadCycles) : N(r.OverheadCycles);
                Text(svg, lx, y + barH / 2 + 4, $"{Slowdown(r.Slowdown)}  ({over} cycles)");
            }

            double one = labelW + 1 / max * plotW;
            svg.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{F(one)}\" y1=\"{F(top - 4)}\" x2=\"{F(one)}\" y2=\"{F(height - bottom)}\" stroke=\"#1d2329\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{F(labelW)}\" y1=\"{F(top - 4)}\" x2=\"{F(labelW)}\" y2=\"{F(height - bottom)}\"/>");
            svg.Append("</svg>");
            sb.Append(svg).Append('\n');
        }
    }

    private static void Timelines(
        StringBuilder sb, IReadOnlyList<TimelineRow> timeline, List<string> traces, Func<string, string, string> label, Dictionary<string, int> engineColor)
    {
        sb.Append("<h2>Timelines</h2>\n");
        if (timeline.Count == 0)
        {
            sb.Append("<p class=\"note\">No timeline rows.</p>\n");
            return;
        }

        foreach (var t in traces)
        {
            var rows = timeline.Where(w => w.Trace == t).ToList();
            if (rows.Count == 0)
            {
                continue;
            }

            var series = rows.GroupBy(w => label(w.Engine, w.Profile), StringComparer.Ordinal)
                .Select(g => (Engine: g.Key, Points: g.OrderBy(w => w.Window).ToList())).ToList();
            sb.Append("<h3>").Append(E(t)).Append("</h3>\n<div class=\"legend\">");
            for (int i = 0; i < series.Count; i++)
            {
                string dash = Dashes[i % Dashes.Length];
                string style = dash.Length == 0 ? "solid" : dash.StartsWith("2 ", StringComparison.Ordinal) ? "dotted" : "dashed";
                sb.Append("<span><span class=\"ln\" style=\"border-top-color:").Append(Color(engineColor[series[i].Engine])).Append(";border-top-style:").Append(style)
                    .Append("\"></span>").Append(E(series[i].Engine)).Append("</span>");
            }

            sb.Append("</div>\n");
            LineChart(sb, "Exits per window", series, w => w.Exits, engineColor);
            LineChart(sb, "Shadow pages per window (at the window's end)", series, w => w.ShadowPages, engineColor);
        }
    }

    private static void LineChart(
        StringBuilder sb, string title, List<(string Engine, List<TimelineRow> Points)> series, Func<TimelineRow, long> value, Dictionary<string, int> engineColor)
    {
        const double left = 72, right = 24, top = 34, bottom = 46, height = 290;
        double plotW = ChartWidth - left - right, plotH = height - top - bottom;
        double xMax = Math.Max(1, series.SelectMany(s => s.Points).Max(w => w.LastEvent + 1));
        var (yMax, yStep) = Ticks(series.SelectMany(s => s.Points).Select(w => (double)value(w)).DefaultIfEmpty(0).Max());
        var (xNice, xStep) = Ticks(xMax, 8);
        double X(double v) => left + v / xNice * plotW;
        double Y(double v) => top + plotH - v / yMax * plotH;

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {F(ChartWidth)} {F(height)}\" width=\"{F(ChartWidth)}\" role=\"img\" aria-label=\"{E(title)}\">");
        Text(svg, left, 18, title, "start", "t");
        for (double v = 0; v <= yMax + yStep / 2; v += yStep)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{F(left)}\" y1=\"{F(Y(v))}\" x2=\"{F(left + plotW)}\" y2=\"{F(Y(v))}\"/>");
            Text(svg, left - 6, Y(v) + 4, Short(v), "end", "ax");
        }

        for (double v = 0; v <= xNice + xStep / 2; v += xStep)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{F(X(v))}\" y1=\"{F(top + plotH)}\" x2=\"{F(X(v))}\" y2=\"{F(top + plotH + 5)}\"/>");
            Text(svg, X(v), top + plotH + 18, Short(v), "middle", "ax");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{F(left)}\" y1=\"{F(top)}\" x2=\"{F(left)}\" y2=\"{F(top + plotH)}\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{F(left)}\" y1=\"{F(top + plotH)}\" x2=\"{F(left + plotW)}\" y2=\"{F(top + plotH)}\"/>");
        Text(svg, left + plotW / 2, height - 8, "event (window end)", "middle", "ax");
        Text(svg, 14, top + plotH / 2, title.StartsWith("Exits", StringComparison.Ordinal) ? "exits" : "shadow pages", "middle", "ax",
            $"transform=\"rotate(-90 14 {F(top + plotH / 2)})\"");

        for (int i = 0; i < series.Count; i++)
        {
            var (engine, points) = series[i];
            string color = Color(engineColor[engine]);
            string dash = Dashes[i % Dashes.Length];
            var pts = string.Join(' ', points.Select(w => F(X(w.LastEvent + 1)) + "," + F(Y(value(w)))));
            svg.Append(CultureInfo.InvariantCulture,
                $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-linejoin=\"round\"{(dash.Length == 0 ? "" : $" stroke-dasharray=\"{dash}\"")} points=\"{pts}\"><title>{E(engine)}</title></polyline>");
            if (points.Count <= 80)
            {
                foreach (var w in points)
                {
                    svg.Append(CultureInfo.InvariantCulture,
                        $"<circle cx=\"{F(X(w.LastEvent + 1))}\" cy=\"{F(Y(value(w)))}\" r=\"3\" fill=\"{color}\"><title>{E(engine)} window {w.Window}: {N(value(w))}</title></circle>");
                }
            }
        }

        svg.Append("</svg>");
        sb.Append(svg).Append('\n');
    }
}
