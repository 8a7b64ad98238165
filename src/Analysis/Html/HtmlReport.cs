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
    private const double SmallWidth = 575;

    /// <summary>The timeline window when neither the rows nor the command say otherwise (SPEC §5: <c>--window</c>'s default).</summary>
    private const long DefaultWindow = 1_000_000;

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
        .multiples{display:flex;flex-wrap:wrap;gap:4px 10px;} .multiple{flex:0 0 575px;} h4{font-size:14px;margin:10px 0 2px;color:#33414e;}
        svg .partial{fill:#f3f6f8;stroke:#8a96a0;stroke-dasharray:3 3;} svg text.log{font-style:italic;}
        """;

    public static string Render(
        IReadOnlyList<SummaryRow> summary,
        IReadOnlyList<ExitRow> exits,
        IReadOnlyList<TimelineRow> timeline,
        IReadOnlyDictionary<string, string> metadata,
        IReadOnlyList<VcpuRow>? vcpus = null,
        IReadOnlyList<VcpuExitRow>? vcpuExits = null)
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
        // One colour per exit reason across every chart of the page: a fixed palette keyed by the sorted reason names.
        var reasonColor = KeyedColors(exits.Select(e => e.Reason));
        ExitCharts(sb, all, exits, traces, Label, reasonColor);
        CyclesByHandler(sb, all, exits, traces, Label, reasonColor);
        Phases(sb, summary, exits, traces, Label, reasonColor);
        Vcpus(sb, vcpus ?? [], vcpuExits ?? [], traces, Label, reasonColor);
        SlowdownCharts(sb, all, traces, Label, engineColor);
        Timelines(sb, timeline, traces, Label, engineColor, WindowFromCommand(metadata));

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

    /// <summary>
    /// Starts a section that has a part per trace: writes its heading, or with no rows at all a note saying so, and
    /// yields each trace's rows in <paramref name="traces"/> order (a trace without rows gets no part).
    /// </summary>
    private static IEnumerable<(string Trace, List<T> Rows)> PerTrace<T>(
        StringBuilder sb, string heading, string noRows, IReadOnlyList<T> all, List<string> traces, Func<T, string> traceOf)
    {
        sb.Append("<h2>").Append(heading).Append("</h2>\n");
        if (all.Count == 0)
        {
            sb.Append("<p class=\"note\">").Append(noRows).Append("</p>\n");
            yield break;
        }

        foreach (var t in traces)
        {
            var rows = all.Where(r => traceOf(r) == t).ToList();
            if (rows.Count > 0)
            {
                yield return (t, rows);
            }
        }
    }

    private static void SummaryTables(StringBuilder sb, List<SummaryRow> all, List<string> traces, Func<string, string, string> label)
    {
        foreach (var (t, rows) in PerTrace(sb, "Summary (phase all)", "No summary rows for phase all.", all, traces, r => r.Trace))
        {
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
        StringBuilder sb, List<SummaryRow> all, IReadOnlyList<ExitRow> exits, List<string> traces, Func<string, string, string> label,
        Dictionary<string, string> reasonColor)
    {
        sb.Append("<h2>Exits by reason and handler (phase all)</h2>\n")
            .Append("<p class=\"note\">One bar per engine; segments are exit reason / handler, coloured by reason (one colour per reason across the page), ")
            .Append("labelled with their count when they fit (hover a segment for its count). WITHIN_EXIT is handler work done inside another exit: drawn, ")
            .Append("but not counted in the number at a bar's end, which equals summary exits. When the totals span more than a factor of 100 the axis is ")
            .Append("logarithmic: a bar ends at its total and its segments split it in proportion to their counts.</p>\n");
        foreach (var (rows, engines) in ExitParts(sb, all, exits, traces, label, needExits: false))
        {
            var keys = StackedExits(sb, rows, engines, label, reasonColor, e => e.Count, "exits", "exits by reason per engine", ChartWidth);
            if (keys.Count == 0)
            {
                sb.Append("<p class=\"note\">No exits in this trace.</p>\n");
                continue;
            }

            Legend(sb, keys.Select(k => k.Reason).Distinct(StringComparer.Ordinal), reasonColor);

            // The counts behind the chart: reason / handler × engine.
            var counts = Sums(rows, label, e => e.Count);
            sb.Append("<div class=\"scroll\"><table><tr><th class=\"l\">reason / handler</th>");
            foreach (var en in engines)
            {
                sb.Append("<th>").Append(E(en)).Append("</th>");
            }

            sb.Append("</tr>\n");
            foreach (var k in keys)
            {
                sb.Append("<tr><td class=\"l\">").Append(Swatch(reasonColor[k.Reason])).Append(E(k.Key)).Append("</td>");
                foreach (var en in engines)
                {
                    double c = counts.GetValueOrDefault((en, k.Key));
                    sb.Append("<td>").Append(c == 0 ? "·" : N((long)c)).Append("</td>");
                }

                sb.Append("</tr>\n");
            }

            sb.Append("</table></div>\n");
        }
    }

    /// <summary>
    /// Cycles by handler: each exit kind's cycles (its count × the profile's cost of its handler and units, as
    /// exits.parquet's <c>cycles</c> column holds them), one bar per engine, and the table of count, cycles and
    /// cycles per exit behind it.
    /// </summary>
    private static void CyclesByHandler(
        StringBuilder sb, List<SummaryRow> all, IReadOnlyList<ExitRow> exits, List<string> traces, Func<string, string, string> label,
        Dictionary<string, string> reasonColor)
    {
        sb.Append("<h2 id=\"cycles-by-handler\">Cycles by handler (phase all)</h2>\n")
            .Append("<p class=\"note\">Each exit kind's cycles from exits.parquet (count × the profile's handler cost, per unit where the handler is ")
            .Append("priced per unit); segments coloured by exit reason as above. The number at a bar's end is the sum of its segments, WITHIN_EXIT work included ")
            .Append("(it is priced work done inside another exit).</p>\n");
        foreach (var (rows, engines) in ExitParts(sb, all, exits, traces, label, needExits: true))
        {
            var keys = StackedExits(sb, rows, engines, label, reasonColor, e => e.Cycles, "cycles", "cycles by handler per engine", ChartWidth, withinCounts: true);
            var counts = Sums(rows, label, e => e.Count);
            var cycles = Sums(rows, label, e => e.Cycles);
            sb.Append("<div class=\"scroll\"><table class=\"handlers\"><tr><th class=\"l\">engine</th><th class=\"l\">reason / handler</th>")
                .Append("<th>count</th><th>cycles</th><th>cycles per exit</th><th>share of engine's exit cycles</th></tr>\n");
            foreach (var en in engines)
            {
                double total = keys.Sum(k => cycles.GetValueOrDefault((en, k.Key)));
                foreach (var k in keys.OrderByDescending(k => cycles.GetValueOrDefault((en, k.Key))).ThenBy(k => k.Key, StringComparer.Ordinal))
                {
                    if (!counts.TryGetValue((en, k.Key), out double c))
                    {
                        continue;
                    }

                    double cy = cycles.GetValueOrDefault((en, k.Key));
                    sb.Append("<tr><td class=\"l\">").Append(E(en)).Append("</td><td class=\"l\">").Append(Swatch(reasonColor[k.Reason])).Append(E(k.Key))
                        .Append("</td><td>").Append(N((long)c)).Append("</td><td>").Append(N(cy)).Append("</td><td>")
                        .Append(c > 0 ? (cy / c).ToString("0.#", CultureInfo.InvariantCulture) : "n/a").Append("</td><td>")
                        .Append(total > 0 ? (cy / total).ToString("0.0%", CultureInfo.InvariantCulture) : "n/a").Append("</td></tr>\n");
                }
            }

            sb.Append("</table></div>\n");
        }
    }

    /// <summary>
    /// Phases other than 'all' (from the trace's phase markers): a table of each phase's counts and cycles per engine,
    /// then small multiples, one exits-by-reason chart per phase in the page's reason colours.
    /// </summary>
    private static void Phases(
        StringBuilder sb, IReadOnlyList<SummaryRow> summary, IReadOnlyList<ExitRow> exits, List<string> traces, Func<string, string, string> label,
        Dictionary<string, string> reasonColor)
    {
        sb.Append("<h2 id=\"phases\">Phases</h2>\n");
        bool any = false;
        foreach (var t in traces)
        {
            var rows = summary.Where(r => r.Trace == t && r.Phase != PhaseAll).ToList();
            if (rows.Count == 0)
            {
                continue;
            }

            any = true;
            var phases = rows.Select(r => r.Phase).Distinct(StringComparer.Ordinal).ToList(); // in the report's (trace) order
            sb.Append("<h3>").Append(E(t)).Append("</h3>\n<div class=\"scroll\"><table class=\"phases\"><tr><th class=\"l\">phase</th><th class=\"l\">engine</th>")
                .Append("<th>events</th><th>accesses</th><th>exits</th><th>exit_cycles</th><th>mmu_cycles</th><th>overhead_cycles</th><th>slowdown</th></tr>\n");
            foreach (var ph in phases)
            {
                foreach (var r in rows.Where(r => r.Phase == ph))
                {
                    sb.Append("<tr><td class=\"l\">").Append(E(ph)).Append("</td><td class=\"l\">").Append(E(label(r.Engine, r.Profile))).Append("</td><td>")
                        .Append(N(r.Events)).Append("</td><td>").Append(N(r.Accesses)).Append("</td><td>").Append(N(r.Exits)).Append("</td><td>")
                        .Append(N(r.ExitCycles)).Append("</td><td>").Append(N(r.MmuCycles)).Append("</td><td>").Append(N(r.OverheadCycles)).Append("</td><td>")
                        .Append(Slowdown(r.Slowdown)).Append("</td></tr>\n");
                }
            }

            sb.Append("</table></div>\n<div class=\"multiples\">");
            foreach (var ph in phases)
            {
                var phaseExits = exits.Where(e => e.Trace == t && e.Phase == ph).ToList();
                var engines = Engines(rows.Where(r => r.Phase == ph), phaseExits, label);
                sb.Append("<div class=\"multiple\"><h4>phase ").Append(E(ph)).Append("</h4>\n");
                if (phaseExits.Count == 0)
                {
                    sb.Append("<p class=\"note\">No exits in this phase.</p></div>\n");
                    continue;
                }

                StackedExits(sb, phaseExits, engines, label, reasonColor, e => e.Count, "exits", "exits by reason per engine in phase " + ph, SmallWidth);
                sb.Append("</div>\n");
            }

            sb.Append("</div>\n");
        }

        if (!any)
        {
            sb.Append("<p class=\"note\">No phases other than all (the traces have no phase markers).</p>\n");
        }
    }

    /// <summary>
    /// Phase <c>all</c> per vCPU (xenalyze's per-vCPU summary) for traces with more than one: a table of the per-vCPU
    /// counts and cycles, and each engine's exits by reason per vCPU. An exit counts for the vCPU whose event caused it.
    /// </summary>
    private static void Vcpus(
        StringBuilder sb, IReadOnlyList<VcpuRow> vcpus, IReadOnlyList<VcpuExitRow> vcpuExits, List<string> traces, Func<string, string, string> label,
        Dictionary<string, string> reasonColor)
    {
        var traceRows = traces.Select(t => (Trace: t, Rows: vcpus.Where(v => v.Trace == t && v.Phase == PhaseAll).ToList()))
            .Where(t => t.Rows.Select(r => r.Vcpu).Distinct().Count() > 1).ToList();
        if (traceRows.Count == 0)
        {
            return;
        }

        sb.Append("<h2 id=\"vcpus\">Per vCPU (phase all)</h2>\n<p class=\"note\">Counts of the events each vCPU ran, and the work they caused ")
            .Append("(an exit, a shadow page built) wherever it lands; over a trace's vCPUs they sum to the summary's. The shadow pool's peak is the VM's.</p>\n");
        ReportMetric[] columns =
        [
            ReportMetrics.Events, ReportMetrics.Exits, ReportMetrics.GuestFaults, ReportMetrics.EmulatedWrites, ReportMetrics.TlbMisses,
            ReportMetrics.WalkRefs, ReportMetrics.ExitCycles, ReportMetrics.MmuCycles, ReportMetrics.OverheadCycles, ReportMetrics.Slowdown,
        ];
        foreach (var (t, rows) in traceRows)
        {
            sb.Append("<h3>").Append(E(t)).Append("</h3>\n<div class=\"scroll\"><table class=\"vcpus\"><tr><th class=\"l\">engine</th><th>vcpu</th>");
            foreach (var m in columns)
            {
                sb.Append("<th>").Append(E(m.Name)).Append("</th>");
            }

            sb.Append("</tr>\n");
            foreach (var r in rows)
            {
                sb.Append("<tr><td class=\"l\">").Append(E(label(r.Engine, r.Profile))).Append("</td><td>").Append(N((long)r.Vcpu)).Append("</td>");
                foreach (var m in columns)
                {
                    sb.Append("<td>").Append(r.Values.AsDouble(m) is not { } v ? "n/a" : m == ReportMetrics.Slowdown ? Slowdown(v) : N(v)).Append("</td>");
                }

                sb.Append("</tr>\n");
            }

            sb.Append("</table></div>\n");
            var exits = vcpuExits.Where(e => e.Trace == t && e.Phase == PhaseAll).Select(e => new ExitRow(e.Trace, $"{e.Engine} vCPU {e.Vcpu}", e.Profile, e.Phase, e.ToTally())).ToList();
            if (exits.Count > 0)
            {
                var bars = rows.Select(r => label($"{r.Engine} vCPU {r.Vcpu}", r.Profile)).ToList();
                StackedExits(sb, exits, bars, label, reasonColor, e => e.Count, "exits", "exits by reason per engine and vCPU", ChartWidth);
            }
        }
    }

    /// <summary>
    /// The per-trace parts of an exit chart section: for each trace with an engine to draw (and, when
    /// <paramref name="needExits"/>, an exit of phase all), writes its heading and yields its phase-all exit rows and
    /// its engines.
    /// </summary>
    private static IEnumerable<(List<ExitRow> Rows, List<string> Engines)> ExitParts(
        StringBuilder sb, List<SummaryRow> all, IReadOnlyList<ExitRow> exits, List<string> traces, Func<string, string, string> label, bool needExits)
    {
        foreach (var t in traces)
        {
            var rows = exits.Where(e => e.Trace == t && e.Phase == PhaseAll).ToList();
            var engines = Engines(all.Where(r => r.Trace == t), rows, label);
            if (engines.Count > 0 && (rows.Count > 0 || !needExits))
            {
                sb.Append("<h3>").Append(E(t)).Append("</h3>\n");
                yield return (rows, engines);
            }
        }
    }

    private static List<string> Engines(IEnumerable<SummaryRow> summary, List<ExitRow> rows, Func<string, string, string> label)
    {
        var engines = summary.Select(r => label(r.Engine, r.Profile)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var e in rows.Select(e => label(e.Engine, e.Profile)))
        {
            if (!engines.Contains(e))
            {
                engines.Add(e);
            }
        }

        return engines;
    }

    private static Dictionary<(string Engine, string Key), double> Sums(List<ExitRow> rows, Func<string, string, string> label, Func<ExitRow, double> value) =>
        rows.GroupBy(e => (label(e.Engine, e.Profile), KindKey(e))).ToDictionary(g => g.Key, g => g.Sum(value));

    private static string Swatch(string color) =>
        "<span class=\"legend\" style=\"display:inline\"><span class=\"sw\" style=\"background:" + color + "\"></span></span>";

    private static void Legend(StringBuilder sb, IEnumerable<string> reasons, Dictionary<string, string> reasonColor)
    {
        sb.Append("<div class=\"legend\">");
        foreach (var r in reasons.Order(StringComparer.Ordinal))
        {
            sb.Append("<span><span class=\"sw\" style=\"background:").Append(reasonColor[r]).Append("\"></span>").Append(E(r)).Append("</span>");
        }

        sb.Append("</div>\n");
    }

    /// <summary>
    /// A horizontal stacked bar per engine of <paramref name="value"/> by exit kind (reason / handler), segments in
    /// (reason, handler) order and filled with their reason's colour; a log axis when the bar totals span decades.
    /// Returns the kinds drawn.
    /// </summary>
    private static List<(string Key, string Reason)> StackedExits(
        StringBuilder sb, List<ExitRow> rows, List<string> engines, Func<string, string, string> label, Dictionary<string, string> reasonColor,
        Func<ExitRow, double> value, string quantity, string aria, double width, bool withinCounts = false)
    {
        var keys = rows.Select(e => (Key: KindKey(e), e.Reason, e.Handler)).Distinct()
            .OrderBy(k => k.Reason, StringComparer.Ordinal).ThenBy(k => k.Handler, StringComparer.Ordinal).Select(k => (k.Key, k.Reason)).ToList();
        var sums = Sums(rows, label, value);
        double V(string engine, string key) => sums.GetValueOrDefault((engine, key));
        bool Counted(string key) => withinCounts || !key.StartsWith(WithinExit + " /", StringComparison.Ordinal);

        var totals = engines.ToDictionary(en => en, en => keys.Sum(k => V(en, k.Key)), StringComparer.Ordinal);
        var axis = ValueAxis.For(totals.Values);
        double labelW = Math.Clamp(engines.Max(en => TextWidth(en, 12)) + 16, width < ChartWidth ? 90 : 120, width < ChartWidth ? 160 : 300);
        const double top = 44, barH = 24, gap = 10, bottom = 8;
        double right = width < ChartWidth ? 70 : 100;
        double plotW = width - labelW - right;
        double height = top + engines.Count * (barH + gap) + bottom;

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {F(width)} {F(height)}\" width=\"{F(width)}\" role=\"img\" aria-label=\"{E(aria)}\">");
        Text(svg, labelW, 14, axis.Title(quantity), "start", axis.Log ? "ax log" : "ax");
        foreach (double v in axis.Ticks)
        {
            double x = labelW + axis.Pos(v) * plotW;
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{F(x)}\" y1=\"{F(top - 4)}\" x2=\"{F(x)}\" y2=\"{F(height - bottom)}\"/>");
            Text(svg, x, top - 10, Short(v), "middle", "ax");
        }

        for (int i = 0; i < engines.Count; i++)
        {
            string en = engines[i];
            double y = top + i * (barH + gap) + gap / 2;
            Text(svg, labelW - 8, y + barH / 2 + 4, Fit(en, labelW - 10, 12), "end");
            double total = totals[en];
            double barW = axis.Pos(total) * plotW; // on a log axis the segments share the bar in proportion to their values
            double x = labelW;
            foreach (var (key, reason) in keys)
            {
                double c = V(en, key);
                if (c == 0)
                {
                    continue;
                }

                double w = total > 0 ? c / total * barW : 0;
                string shown = quantity == "cycles" ? N(c) : N((long)c);
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(Math.Max(w, 0.5))}\" height=\"{F(barH)}\" fill=\"{reasonColor[reason]}\" data-reason=\"{E(reason)}\" stroke=\"#fff\" stroke-width=\"0.5\"><title>{E(en)}: {E(key)}: {shown} {quantity}</title></rect>");
                if (TextWidth(shown, 11) + 6 < w)
                {
                    Text(svg, x + w / 2, y + barH / 2 + 4, shown, "middle", "in");
                }

                x += w;
            }

            double end = keys.Where(k => Counted(k.Key)).Sum(k => V(en, k.Key));
            Text(svg, x + 6, y + barH / 2 + 4, quantity == "cycles" ? N(end) : N((long)end));
        }

        svg.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{F(labelW)}\" y1=\"{F(top - 4)}\" x2=\"{F(labelW)}\" y2=\"{F(height - bottom)}\"/>");
        svg.Append("</svg>");
        sb.Append(svg).Append('\n');
        return keys;
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

    /// <summary>The <c>--window N</c> (or <c>--window=N</c>) of the recorded command line, if any.</summary>
    private static long? WindowFromCommand(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("replay.command", out var command))
        {
            return null;
        }

        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < words.Length; i++)
        {
            string? v = words[i] == "--window" && i + 1 < words.Length ? words[i + 1]
                : words[i].StartsWith("--window=", StringComparison.Ordinal) ? words[i]["--window=".Length..] : null;
            if (v is not null && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0)
            {
                return n;
            }
        }

        return null;
    }

    /// <summary>Events in a timeline window (its rows carry the first and last event index, inclusive).</summary>
    private static long WindowEvents(TimelineRow w) => w.LastEvent - w.FirstEvent + 1;

    /// <summary>
    /// The window size of one engine's timeline: every window but the last is full (EngineRun.EndWindow closes a window
    /// every <c>--window</c> events), so with two or more windows it is the largest; a single window falls back to the
    /// recorded command's <c>--window</c>, then to the default.
    /// </summary>
    private static long WindowSize(List<TimelineRow> points, long? fromCommand) =>
        points.Count >= 2 ? points.Max(WindowEvents) : fromCommand ?? DefaultWindow;

    private static void Timelines(
        StringBuilder sb, IReadOnlyList<TimelineRow> timeline, List<string> traces, Func<string, string, string> label, Dictionary<string, int> engineColor,
        long? commandWindow)
    {
        foreach (var (t, rows) in PerTrace(sb, "Timelines", "No timeline rows.", timeline, traces, w => w.Trace))
        {
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

            // The last window is partial when it holds fewer events than the window size (the trace ended inside it).
            var partial = series.Select(s => (s.Engine, Last: s.Points[^1], Size: WindowSize(s.Points, commandWindow)))
                .Where(p => WindowEvents(p.Last) < p.Size).ToList();
            if (partial.Count > 0)
            {
                var p = partial[0];
                sb.Append("<p class=\"note partial-window\">The last window (window ").Append(p.Last.Window.ToString(CultureInfo.InvariantCulture))
                    .Append(", events ").Append(N(p.Last.FirstEvent)).Append('–').Append(N(p.Last.LastEvent)).Append(") is partial: it holds ")
                    .Append(N(WindowEvents(p.Last))).Append(" of ").Append(N(p.Size)).Append(" events, so its counts cover a shorter stretch; it is shaded in the charts.</p>\n");
            }

            LineChart(sb, "Exits per window", "exits", series, w => w.Exits, engineColor, partial.Select(p => p.Last).ToList());
            LineChart(sb, "MMU cycles per window", "cycles", series, w => w.MmuCycles, engineColor, partial.Select(p => p.Last).ToList());
            LineChart(sb, "Shadow pages per window (at the window's end)", "shadow pages", series, w => w.ShadowPages, engineColor, partial.Select(p => p.Last).ToList());
        }
    }

    private static void LineChart(
        StringBuilder sb, string title, string quantity, List<(string Engine, List<TimelineRow> Points)> series, Func<TimelineRow, double> value,
        Dictionary<string, int> engineColor, List<TimelineRow> partial)
    {
        const double left = 72, right = 24, top = 34, bottom = 46, height = 290;
        double plotW = ChartWidth - left - right, plotH = height - top - bottom;
        double xMax = Math.Max(1, series.SelectMany(s => s.Points).Max(w => w.LastEvent + 1));
        var axis = ValueAxis.For(series.SelectMany(s => s.Points).Select(value));
        var (xNice, xStep) = Ticks(xMax, 8);
        double X(double v) => left + v / xNice * plotW;
        double Y(double v) => top + plotH - axis.Pos(v) * plotH;

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg viewBox=\"0 0 {F(ChartWidth)} {F(height)}\" width=\"{F(ChartWidth)}\" role=\"img\" aria-label=\"{E(title)}\">");
        Text(svg, left, 18, title, "start", "t");

        // The partial last window: a shaded band over its stretch of events, labelled.
        if (partial.Count > 0)
        {
            double x0 = X(partial.Min(w => w.FirstEvent)), x1 = X(partial.Max(w => w.LastEvent + 1));
            svg.Append(CultureInfo.InvariantCulture,
                $"<rect class=\"partial\" x=\"{F(x0)}\" y=\"{F(top)}\" width=\"{F(Math.Max(x1 - x0, 2))}\" height=\"{F(plotH)}\"><title>partial window: {N(WindowEvents(partial[0]))} events</title></rect>");
            Text(svg, x1 - 4, top + 14, "partial window", "end", "ax");
        }

        foreach (double v in axis.Ticks)
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
        bool zeros = axis.Log && series.Exists(s => s.Points.Exists(w => value(w) <= 0)); // a log axis has no 0: such windows sit on its floor
        Text(svg, 14, top + plotH / 2, axis.Title(quantity) + (zeros ? ", 0 on the floor" : ""), "middle", axis.Log ? "ax log" : "ax", $"transform=\"rotate(-90 14 {F(top + plotH / 2)})\"");

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
                    bool isPartial = partial.Exists(p => ReferenceEquals(p, w));
                    svg.Append(CultureInfo.InvariantCulture,
                        $"<circle cx=\"{F(X(w.LastEvent + 1))}\" cy=\"{F(Y(value(w)))}\" r=\"3\" fill=\"{(isPartial ? "#fff" : color)}\"{(isPartial ? $" stroke=\"{color}\" stroke-width=\"1.5\"" : "")}><title>{E(engine)} window {w.Window}{(isPartial ? " (partial)" : "")}: {N(value(w))}</title></circle>");
                }
            }
        }

        svg.Append("</svg>");
        sb.Append(svg).Append('\n');
    }
}
