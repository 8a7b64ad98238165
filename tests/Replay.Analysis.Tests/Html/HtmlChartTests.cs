using System.Text.RegularExpressions;
using Replay.Analysis.Html;
using Replay.Analysis.Reports;

namespace Replay.Analysis.Tests.Html;

/// <summary>The HTML report's axes, reason palette and partial-window rule on small hand-built rows.</summary>
public partial class HtmlChartTests
{
    [Fact]
    public void An_axis_is_logarithmic_only_when_its_positive_values_span_more_than_a_factor_of_100()
    {
        var log = ValueAxis.For([0, 34, 66_498]);
        Assert.True(log.Log);
        Assert.Equal([10, 100, 1_000, 10_000, 100_000], log.Ticks);
        Assert.Equal("exits (log scale)", log.Title("exits"));
        Assert.Equal(0, log.Pos(0)); // zero sits at the floor
        Assert.Equal(0.25, log.Pos(100), 12);
        Assert.Equal(1, log.Pos(100_000), 12);

        // A smallest value on a power of ten stays above the floor.
        Assert.Equal([10, 100, 1_000, 10_000, 100_000, 1_000_000], ValueAxis.For([100, 100_001]).Ticks);

        var linear = ValueAxis.For([2, 200]); // exactly 100×: not more than 100
        Assert.False(linear.Log);
        Assert.Equal([0, 50, 100, 150, 200], linear.Ticks);
        Assert.Equal("exits", linear.Title("exits"));
        Assert.Equal(0.5, linear.Pos(100), 12);

        Assert.False(ValueAxis.For([0, 0, 5]).Log); // one positive value cannot span decades
        Assert.False(ValueAxis.For([]).Log);
    }

    [Fact]
    public void Reason_colours_follow_the_sorted_names_and_never_repeat()
    {
        var colors = Svg.KeyedColors(["PV_TRAP", "CR_ACCESS", "HYPERCALL", "CR_ACCESS"]);
        Assert.Equal(["CR_ACCESS", "HYPERCALL", "PV_TRAP"], colors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("#4e79a7", colors["CR_ACCESS"]);
        Assert.Equal("#f28e2b", colors["HYPERCALL"]);
        Assert.Equal("#e15759", colors["PV_TRAP"]);

        // Adding a reason that sorts later leaves the earlier ones' colours; 60 reasons get 60 colours.
        Assert.Equal(colors["HYPERCALL"], Svg.KeyedColors(["CR_ACCESS", "HYPERCALL", "PV_TRAP", "XSETBV"])["HYPERCALL"]);
        var many = Svg.KeyedColors(Enumerable.Range(0, 60).Select(i => $"R{i:00}"));
        Assert.Equal(60, many.Values.Distinct().Count());
    }

    private static TimelineRow Window(string engine, long window, long first, long last, long exits) =>
        new() { Trace = "t.pq", Engine = engine, Profile = "p", Window = window, FirstEvent = first, LastEvent = last, Exits = exits, ShadowPages = 1 };

    [Fact]
    public void The_last_window_is_partial_when_shorter_than_the_others_or_than_the_recorded_window()
    {
        var meta = new Dictionary<string, string>();

        // Windows of 100 events, the last one holding 40: partial, whatever the command says.
        string page = HtmlReport.Render([], [], [Window("shadow", 0, 0, 99, 5), Window("shadow", 1, 100, 199, 7), Window("shadow", 2, 200, 239, 3)], meta);
        Assert.Contains("The last window (window 2, events 200–239) is partial: it holds 40 of 100 events", page);
        Assert.Equal(3, PartialBand().Count(page)); // exits, MMU cycles and shadow pages per window
        Assert.Contains("shadow window 2 (partial): 3", page);
        Assert.DoesNotContain("shadow window 1 (partial)", page);

        // Every window full: no marker.
        page = HtmlReport.Render([], [], [Window("shadow", 0, 0, 99, 5), Window("shadow", 1, 100, 199, 7)], meta);
        Assert.DoesNotContain("class=\"partial\"", page);

        // One window: its size comes from the recorded --window, else the default 1,000,000.
        var one = new[] { Window("shadow", 0, 0, 499, 5) };
        Assert.DoesNotContain("is partial", HtmlReport.Render([], [], one, new Dictionary<string, string> { ["replay.command"] = "replay t.pq --window 500" }));
        Assert.DoesNotContain("is partial", HtmlReport.Render([], [], one, new Dictionary<string, string> { ["replay.command"] = "replay t.pq --window=500" }));
        Assert.Contains("it holds 500 of 1,000 events", HtmlReport.Render([], [], one, new Dictionary<string, string> { ["replay.command"] = "replay t.pq --window 1000" }));
        Assert.Contains("it holds 500 of 1,000,000 events", HtmlReport.Render([], [], one, meta));
    }

    [Fact]
    public void Exit_totals_within_a_factor_of_100_keep_a_linear_axis_and_cycles_by_handler_sums_each_kind()
    {
        static SummaryRow Row(string engine, long exits, double exitCycles) =>
            new() { Trace = "t.pq", TraceSha256 = "ab", Engine = engine, Profile = "p", Phase = "all", Exits = exits, ExitCycles = exitCycles, Slowdown = 1 };
        static ExitRow Exit(string engine, string reason, string handler, long count, double cycles) =>
            new() { Trace = "t.pq", Engine = engine, Profile = "p", Phase = "all", Reason = reason, Handler = handler, Count = count, Cycles = cycles };

        var exits = new[]
        {
            Exit("shadow", "EXCEPTION_NMI", "shadow_fill", 300, 1_200_000), Exit("shadow", "CR_ACCESS", "cr3_switch", 100, 210_000),
            Exit("ept", "EPT_VIOLATION", "ept_fill", 50, 100_000),
        };
        string page = HtmlReport.Render([Row("shadow", 400, 1_410_000), Row("ept", 50, 100_000)], exits, [], new Dictionary<string, string>());

        // Exit totals 400 and 50 (8×): linear; cycles 1,410,000 and 100,000 (14.1×): linear too.
        Assert.DoesNotContain("log scale", page);
        Assert.Contains(">exits</text>", page);
        Assert.Contains(">cycles</text>", page);
        Assert.Contains("<tr><td class=\"l\">shadow</td><td class=\"l\"><span class=\"legend\" style=\"display:inline\"><span class=\"sw\" style=\"background:#e15759\"></span></span>EXCEPTION_NMI / shadow_fill</td><td>300</td><td>1,200,000</td><td>4000</td><td>85.1%</td></tr>", page);
        Assert.Contains(">1,410,000</text>", page);

        // Colours by sorted reason: CR_ACCESS, EPT_VIOLATION, EXCEPTION_NMI.
        Assert.Contains("fill=\"#4e79a7\" data-reason=\"CR_ACCESS\"", page);
        Assert.Contains("fill=\"#f28e2b\" data-reason=\"EPT_VIOLATION\"", page);
        Assert.Contains("fill=\"#e15759\" data-reason=\"EXCEPTION_NMI\"", page);
        Assert.Contains("No phases other than all", page);
    }

    [GeneratedRegex("<rect class=\"partial\"")]
    private static partial Regex PartialBand();
}
