using System.Reflection;
using Replay.Analysis.Costs;
using Replay.Analysis.Reports;
using Replay.Engines.Contract;

namespace Replay.Analysis.Tests.Reports;

/// <summary>The one table of metrics, and what the rest of the program derives from it.</summary>
public class ReportMetricsTests
{
    /// <summary>EngineStats state that is bookkeeping of the driver, not a reported count.</summary>
    private static readonly string[] NotReported = [nameof(EngineStats.SegmentPeak)];

    [Fact]
    public void Every_count_field_of_EngineStats_is_declared_as_a_metric()
    {
        // A field added to EngineStats (Instructions, Insns, walk references by cache level, nested-TLB hits…) and not
        // declared in ReportMetrics would silently never reach a report; this names it.
        var counts = ReportMetrics.All.Declared.Where(m => m.Reprice == RepriceRule.Restored).Cast<ReportMetric<long>>().ToList();
        foreach (var field in typeof(EngineStats).GetFields(BindingFlags.Public | BindingFlags.Instance).Where(f => f.FieldType == typeof(long)))
        {
            if (NotReported.Contains(field.Name))
            {
                continue;
            }

            var s = new EngineStats(0, 0);
            field.SetValue(s, 987_654_321L);
            var reading = counts.Where(m => m.Read!(s) == 987_654_321L).Select(m => m.Name).ToList();
            Assert.True(reading.Count == 1, $"EngineStats.{field.Name} is read by {reading.Count} metrics ({string.Join(", ", reading)}); declare it once in ReportMetrics.");

            var restored = new EngineStats(0, 0);
            counts.Single(m => m.Name == reading[0]).Restore!(restored, 987_654_321L);
            Assert.Equal(987_654_321L, field.GetValue(restored));
        }
    }

    [Fact]
    public void Each_count_adds_across_phases_and_windows_as_declared()
    {
        // EngineStats.Add is how the driver accumulates phases: 3 then 5 is 8 for a sum, 5 for a peak or a level.
        foreach (var m in ReportMetrics.All.Declared.Where(m => m.Reprice == RepriceRule.Restored).Cast<ReportMetric<long>>())
        {
            var a = new EngineStats(0, 0);
            var b = new EngineStats(0, 0);
            m.Restore!(a, 3);
            m.Restore!(b, 5);
            a.Add(b);
            long expected = m.Adds switch { MetricAggregation.Sum => 8, MetricAggregation.Peak or MetricAggregation.Level => 5, _ => -1 };
            Assert.True(expected == m.Read!(a), $"{m.Name} is declared {m.Adds} but EngineStats.Add made 3 and 5 into {m.Read!(a)}.");
        }
    }

    [Fact]
    public void The_views_take_their_order_from_the_declarations()
    {
        var all = ReportMetrics.All;
        Assert.Equal(["exits", "mmu_cycles", "overhead_cycles", "guest_faults", "shadow_pages_peak", "events_per_second"], all.Compared.Select(m => m.Name));
        Assert.Equal(["exits", "mmu_cycles", "overhead_cycles", "guest_faults", "shadow_pages_peak"], Comparer.CountMetrics);
        Assert.Equal(
            ["exits", "guest_faults", "tlb_misses", "walk_refs", "mmu_cycles", "overhead_cycles", "slowdown", "shadow_pages_peak", "events_per_second"],
            all.Shown.Select(m => m.Name));
        Assert.Equal(
            ["accesses", "exits", "guest_faults", "tlb_misses", "mmu_cycles", "shadow_pages", "walk_refs", "psc_hits", "instructions", "insns",
             "walk_refs_l1", "walk_refs_l2", "walk_refs_l3", "walk_refs_mem", "nested_tlb_hits"],
            all.Timeline.Select(m => m.Name));
    }

    [Fact]
    public void What_exact_re_pricing_needs_is_found_by_asking_Pricing()
    {
        // The round profile prices accesses, pt_writes and insns (guest work), guest faults, walk references (all at the
        // L1 price, plus what L2, L3 and memory add: walk_refs_l1 itself is never needed), PSC and nested-TLB hits; the
        // timeline records only mmu_cycles, which needs the walk counts alone.
        Assert.Equal(
            ["accesses", "pt_writes", "guest_faults", "walk_refs", "psc_hits", "insns", "walk_refs_l2", "walk_refs_l3", "walk_refs_mem", "nested_tlb_hits"],
            PricingNeeds.Of(TestProfiles.Round, ReportMetrics.All.Summary).Select(m => m.Name));
        Assert.Equal(
            ["walk_refs", "psc_hits", "walk_refs_l2", "walk_refs_l3", "walk_refs_mem", "nested_tlb_hits"],
            PricingNeeds.Of(TestProfiles.Round, ReportMetrics.All.Timeline).Select(m => m.Name));

        // A profile that prices PSC hits at 0 does not need them.
        var free = ProfileCatalog.Parse(TestProfiles.RoundJson.Replace("\"psc_hit_cycles\": 2", "\"psc_hit_cycles\": 0", StringComparison.Ordinal), "round, free PSC hits");
        Assert.DoesNotContain("psc_hits", PricingNeeds.Of(free, ReportMetrics.All.Summary).Select(m => m.Name));
    }

    [Fact]
    public void A_declaration_is_checked_when_the_set_is_built()
    {
        var dup = new ReportMetric<long>("exits", "exits", MetricSources.Count(s => s.Exits, (s, v) => s.Exits = v));
        Assert.Contains("'exits'", Assert.Throws<ArgumentException>(() => ReportMetrics.All.With(dup)).Message, StringComparison.Ordinal);

        var reads = new ReportMetric<double>("ratio_of_nothing", "×", MetricSources.Derived(_ => 0.0, "nothing"));
        Assert.Contains("'nothing'", Assert.Throws<ArgumentException>(() => ReportMetrics.All.With(reads)).Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => new ReportMetric<long>("Not-Snake", "x", MetricSources.Count(s => s.Exits, (s, v) => s.Exits = v)));
    }
}
