using System.Globalization;
using System.Text.Json;
using Replay.Analysis.Reports;
using Replay.Driver;

namespace Replay.Cli;

/// <summary>
/// The run summary on stdout: a table of phase <c>all</c> per trace and engine (the metrics <see cref="ReportMetrics"/>
/// declares as shown), or every summary row as JSON (every summary column, as the file has them).
/// </summary>
internal static class SummaryPrinter
{
    public static void PrintJson(TextWriter stdout, IReadOnlyList<SummaryRow> rows) =>
        stdout.WriteLine(CliJson.Array(rows, (w, r) =>
        {
            CliJson.WriteRowKey(w, r.Trace, r.TraceSha256, r.Engine, r.Profile, r.Phase);
            foreach (var m in r.Values.Layout)
            {
                w.WritePropertyName(m.Name);
                WriteValue(w, r, m);
            }
        }));

    /// <summary>One block per replayed trace, each with only that trace's summary rows (two traces may share a name).</summary>
    public static void PrintTable(TextWriter stdout,
        IReadOnlyList<(ReplayOutcome Outcome, IReadOnlyList<SummaryRow> Rows, IReadOnlyList<ExitRow> Exits, IReadOnlyList<VcpuRow> Vcpus)> traces,
        IReadOnlyList<string> dirs, string profile)
    {
        var c = CultureInfo.InvariantCulture;
        foreach (var (o, rows, exits, vcpus) in traces)
        {
            var shown = (rows.Count > 0 ? rows[0].Values.Layout.Set : ReportMetrics.All).Shown;
            var info = o.Info;
            stdout.WriteLine(string.Create(c, $"{o.Result.Trace}: {(rows.Count > 0 ? rows[0].Events : 0):N0} events, {info.Vcpus} vCPU(s), {info.PagingLevels}-level paging, PCID {(info.Pcid ? "on" : "off")}, profile {profile}, {o.WallSeconds:0.00} s"));
            if (o.Warnings > 0)
            {
                stdout.WriteLine(string.Create(c, $"  {o.Warnings:N0} trace warning(s); first: row {o.FirstWarnings[0].Row}: {o.FirstWarnings[0].Message}"));
            }

            string[] head = ["engine", .. shown.Select(m => m.Show!.ConsoleLabel ?? m.Name)];
            var lines = rows.Where(r => r.Phase == ReportBuilder.AllPhase)
                .Select(r => (string[])[r.Engine, .. shown.Select(m => Cell(r, m))]).ToList();
            var widths = head.Select((h, i) => Math.Max(h.Length, lines.Select(l => l[i].Length).DefaultIfEmpty(0).Max())).ToArray();
            stdout.WriteLine("  " + string.Join("  ", head.Select((h, i) => i == 0 ? h.PadRight(widths[i]) : h.PadLeft(widths[i]))));
            foreach (var l in lines)
            {
                stdout.WriteLine("  " + string.Join("  ", l.Select((v, i) => i == 0 ? v.PadRight(widths[i]) : v.PadLeft(widths[i]))));
            }

            PrintExits(stdout, rows.Where(r => r.Phase == ReportBuilder.AllPhase).Select(r => r.Engine).ToList(), exits);
            PrintVcpus(stdout, vcpus);
        }

        stdout.WriteLine($"reports: {string.Join(", ", dirs.Select(d => Path.Combine(d, "{summary,exits,timeline,counters,timeline_exits,vcpus,vcpu_exits}.parquet")))}");
    }

    /// <summary>
    /// Phase <c>all</c> per engine and vCPU, as xenalyze's summary lists vCPUs: events and the shown metrics that are
    /// per vCPU (<see cref="ReportFiles.Vcpus"/>). Only when more than one vCPU ran.
    /// </summary>
    private static void PrintVcpus(TextWriter stdout, IReadOnlyList<VcpuRow> vcpus)
    {
        var all = vcpus.Where(v => v.Phase == ReportBuilder.AllPhase).ToList();
        if (all.Select(v => v.Vcpu).Distinct().Count() < 2)
        {
            return;
        }

        var layout = all[0].Values.Layout;
        ReportMetric[] shown = [ReportMetrics.Events, ReportMetrics.EmulatedWrites, .. layout.Set.Shown.Where(layout.Contains)];
        string[] head = ["engine", "vcpu", .. shown.Select(m => m.Show?.ConsoleLabel ?? m.Name)];
        var lines = all.Select(v => (string[])[v.Engine, v.Vcpu.ToString(CultureInfo.InvariantCulture), .. shown.Select(m => Cell(v, m))]).ToList();
        var widths = head.Select((h, i) => Math.Max(h.Length, lines.Max(l => l[i].Length))).ToArray();
        stdout.WriteLine("  per vCPU (an exit or shadow page counts for the vCPU whose event caused it):");
        foreach (var l in lines.Prepend(head))
        {
            stdout.WriteLine("    " + string.Join("  ", l.Select((v, i) => i == 0 ? v.PadRight(widths[i]) : v.PadLeft(widths[i]))));
        }
    }

    /// <summary>
    /// Exits by reason and handler per engine, as <c>perf kvm stat report</c> lists VM exits: count, share of the
    /// engine's exits, cycles, share of its exit cycles, cycles per exit; heaviest first. Phase <c>all</c> only.
    /// <c>WITHIN_EXIT</c> rows are handler work inside another exit: listed, with no share of the exit count.
    /// </summary>
    private static void PrintExits(TextWriter stdout, IReadOnlyList<string> engines, IReadOnlyList<ExitRow> exits)
    {
        var c = CultureInfo.InvariantCulture;
        var all = exits.Where(e => e.Phase == ReportBuilder.AllPhase && (e.Count > 0 || e.Units > 0 || e.Cycles > 0)).ToList();
        var lines = new List<string[]>();
        foreach (var engine in engines)
        {
            var mine = all.Where(e => e.Engine == engine).ToList();
            long count = mine.Where(e => e.Reason != WithinExit).Sum(e => e.Count);
            double cycles = mine.Sum(e => e.Cycles);
            foreach (var e in mine.OrderByDescending(e => e.Cycles).ThenBy(e => e.Reason, StringComparer.Ordinal).ThenBy(e => e.Handler, StringComparer.Ordinal))
            {
                string share = e.Reason == WithinExit || count == 0 ? "" : (100.0 * e.Count / count).ToString("0.0", c) + "%";
                lines.Add([engine, e.Reason, e.Handler, e.Count.ToString("N0", c), share, e.Cycles.ToString("N0", c),
                    cycles > 0 ? (100 * e.Cycles / cycles).ToString("0.0", c) + "%" : "", e.Count > 0 ? (e.Cycles / e.Count).ToString("N0", c) : ""]);
            }
        }

        if (lines.Count == 0)
        {
            return;
        }

        string[] head = ["engine", "reason", "handler", "count", "count%", "cycles", "cycles%", "cycles/exit"];
        var widths = head.Select((h, i) => Math.Max(h.Length, lines.Max(l => l[i].Length))).ToArray();
        stdout.WriteLine("  exits by reason and handler:");
        foreach (var l in lines.Prepend(head))
        {
            stdout.WriteLine("    " + string.Join("  ", l.Select((v, i) => i < 3 ? v.PadRight(widths[i]) : v.PadLeft(widths[i]))).TrimEnd());
        }
    }

    private const string WithinExit = "WITHIN_EXIT";

    private static string Cell(MetricRow r, ReportMetric m)
    {
        var c = CultureInfo.InvariantCulture;
        return r.Values.AsDouble(m) is not { } v ? "n/a" : (m.Show?.Format ?? MetricFormat.Grouped) switch
        {
            MetricFormat.Ratio => v.ToString("0.000", c) + "x",
            MetricFormat.Millions => (v / 1e6).ToString("0.0", c),
            _ => m.ValueType == typeof(long) ? r.Get((ReportMetric<long>)m).ToString("N0", c) : v.ToString("N0", c),
        };
    }

    /// <summary>As System.Text.Json writes the value (named literals for non-finite doubles); null when not recorded.</summary>
    private static void WriteValue(Utf8JsonWriter w, SummaryRow r, ReportMetric m)
    {
        if (r.Values.AsDouble(m) is not { } v)
        {
            w.WriteNullValue();
        }
        else if (m.ValueType == typeof(long))
        {
            w.WriteNumberValue(r.Get((ReportMetric<long>)m));
        }
        else if (double.IsFinite(v))
        {
            w.WriteNumberValue(v);
        }
        else
        {
            w.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }
}
