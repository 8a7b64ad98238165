using Replay.Analysis.Costs;
using Replay.Engines.Contract;

namespace Replay.Analysis.Reports;

/// <summary>
/// The restored counts an exact re-price needs: those that change a priced column of the file under the new
/// profile. Found by asking <see cref="Pricing.Price"/> (each count alone at 1 against all at 0; pricing is linear in
/// the counts, SPEC §4), not declared, so when the cost model starts pricing a count, a report that lacks it is
/// refused without anyone having to list it; and a count a profile prices at 0 is not needed under that profile.
/// </summary>
internal static class PricingNeeds
{
    public static List<ReportMetric> Of(CostProfile profile, MetricLayout layout)
    {
        var priced = layout.Where(m => m.Reprice == RepriceRule.Priced).ToList();
        var none = new EngineStats(0, 0);
        var zero = new MetricInputs(none, Pricing.Price(profile, [], none));
        var needs = new List<ReportMetric>();
        foreach (var count in layout.Where(m => m.Reprice == RepriceRule.Restored))
        {
            var one = new EngineStats(0, 0);
            count.Restore!(one, 1);
            var probe = new MetricInputs(one, Pricing.Price(profile, [], one));
            if (priced.Any(p => p.ComputeRaw(probe) != p.ComputeRaw(zero)))
            {
                needs.Add(count);
            }
        }

        return needs;
    }

    /// <summary>
    /// Throws when <paramref name="rows"/> do not all record a count <paramref name="profile"/> prices in
    /// <paramref name="layout"/>'s file, or, for a trace whose native run is not reported (<paramref name="nativeReported"/>
    /// false), native's copy of one.
    /// </summary>
    public static void Require<TRow>(string path, CostProfile profile, MetricLayout layout, IReadOnlyList<TRow> rows, Func<TRow, bool> nativeReported)
        where TRow : MetricRow
    {
        var counts = Of(profile, layout);
        var missing = counts.Where(m => rows.Any(r => !r.IsRecorded(m)))
            .Concat(layout.Where(n => n.Reprice == RepriceRule.NativeCount && counts.Contains(n.NativeOf!)
                && rows.Any(r => !nativeReported(r) && !r.IsRecorded(n))))
            .Select(m => m.Name).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException(
                $"{path}: cannot re-price exactly with profile '{profile.Name}': that needs {string.Join(", ", missing)}, which this report does not record " +
                "(it was written before the column existed, or by a tool that dropped it); replay the trace with that profile instead.");
        }
    }
}
