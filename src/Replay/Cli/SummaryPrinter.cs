using System.Globalization;
using System.Text.Json;
using Replay.Analysis.Reports;
using Replay.Driver;

namespace Replay.Cli;

/// <summary>The run summary on stdout: a table of phase <c>all</c> per trace and engine, or every summary row as JSON.</summary>
internal static class SummaryPrinter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void PrintJson(TextWriter stdout, IReadOnlyList<SummaryRow> rows) =>
        stdout.WriteLine(JsonSerializer.Serialize(rows, Json));

    public static void PrintTable(TextWriter stdout, IReadOnlyList<SummaryRow> rows, IReadOnlyList<ReplayOutcome> outcomes, IReadOnlyList<string> dirs, string profile)
    {
        var c = CultureInfo.InvariantCulture;
        foreach (var o in outcomes)
        {
            var info = o.Info;
            stdout.WriteLine(string.Create(c, $"{o.Result.Trace}: {rows.FirstOrDefault(r => r.Trace == o.Result.Trace)?.Events ?? 0:N0} events, {info.Vcpus} vCPU(s), {info.PagingLevels}-level paging, PCID {(info.Pcid ? "on" : "off")}, profile {profile}, {o.WallSeconds:0.00} s"));
            if (o.Warnings > 0)
            {
                stdout.WriteLine(string.Create(c, $"  {o.Warnings:N0} trace warning(s); first: row {o.FirstWarnings[0].Row}: {o.FirstWarnings[0].Message}"));
            }

            string[] head = ["engine", "exits", "guest_faults", "tlb_misses", "walk_refs", "mmu_cycles", "overhead", "slowdown", "shadow_peak", "Mevents/s"];
            var lines = rows.Where(r => r.Trace == o.Result.Trace && r.Phase == ReportBuilder.AllPhase).Select(r => new[]
            {
                r.Engine,
                r.Exits.ToString("N0", c),
                r.GuestFaults.ToString("N0", c),
                r.TlbMisses.ToString("N0", c),
                r.WalkRefs.ToString("N0", c),
                r.MmuCycles.ToString("N0", c),
                r.OverheadCycles.ToString("N0", c),
                r.Slowdown.ToString("0.000", c) + "x",
                r.ShadowPagesPeak.ToString("N0", c),
                (r.EventsPerSecond / 1e6).ToString("0.0", c),
            }).ToList();
            var widths = head.Select((h, i) => Math.Max(h.Length, lines.Select(l => l[i].Length).DefaultIfEmpty(0).Max())).ToArray();
            stdout.WriteLine("  " + string.Join("  ", head.Select((h, i) => i == 0 ? h.PadRight(widths[i]) : h.PadLeft(widths[i]))));
            foreach (var l in lines)
            {
                stdout.WriteLine("  " + string.Join("  ", l.Select((v, i) => i == 0 ? v.PadRight(widths[i]) : v.PadLeft(widths[i]))));
            }
        }

        stdout.WriteLine($"reports: {string.Join(", ", dirs.Select(d => Path.Combine(d, "{summary,exits,timeline,counters,timeline_exits}.parquet")))}");
    }
}
