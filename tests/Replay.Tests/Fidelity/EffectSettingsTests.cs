using Replay.Analysis.Reports;
using Replay.Fidelity;

namespace Replay.Tests.Fidelity;

/// <summary>
/// Which hypervisor's shadow MMU each effect's setting runs: VMware's measurements (Adams &amp; Agesen 2006, VMware's
/// 2009 EPT evaluation) on VMware's (no out-of-sync L1s, no fast emulation, no early unshadow), Xen's measurements on
/// Xen's own heuristics.
/// </summary>
public sealed class EffectSettingsTests
{
    private const string Vmware = "shadow-cached:early_unshadow=false,fast_emulate=false,oos=false";

    private static IEnumerable<string> ShadowEngines(Effect e) =>
        e.Needs.SelectMany(n => n.Engines).Where(x => x.StartsWith("shadow-cached", StringComparison.Ordinal)).Distinct();

    public static TheoryData<string> VmwareEffects =>
        ["forkwait-vtx-shadow", "forkwait-vtx-shadow-core2", "ept-beats-shadow-mmu-heavy", "ept-beats-shadow-microbenchmarks", "large-pages-close-the-gap"];

    [Theory]
    [MemberData(nameof(VmwareEffects))]
    public void Vmware_measurements_run_vmware_shadow_paging(string id)
    {
        var effect = Effects.All(1000).Single(e => e.Id == id);
        Assert.True(effect.Source.StartsWith("VMware", StringComparison.Ordinal) || effect.Source.StartsWith("Adams & Agesen", StringComparison.Ordinal), effect.Source);
        Assert.Equal([Vmware], ShadowEngines(effect));
        Assert.True(effect.Setting.Contains(Vmware, StringComparison.Ordinal) || effect.Setting.Contains("as above", StringComparison.Ordinal), effect.Setting); // the table says which
    }

    [Fact]
    public void Xen_measurements_keep_xen_heuristics()
    {
        foreach (var e in Effects.All(1000).Where(e => e.Source.StartsWith("Xen", StringComparison.Ordinal) || e.Source.StartsWith("Wang", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(Vmware, ShadowEngines(e));
            Assert.NotEmpty(ShadowEngines(e));
        }
    }

    /// <summary>Lab results in which every switching workload's whole run costs what <paramref name="totals"/> says per engine.</summary>
    private static LabResults Switching(Func<string, (double Shadow, double Ept, double Hybrid)> totals)
    {
        var results = new LabResults();
        foreach (var need in Effects.All(1000).Single(e => e.Id == "switching-matches-the-better").Needs)
        {
            var (shadow, ept, hybrid) = totals(need.Scenario.Workload);
            SummaryRow Row(string engine, double total) =>
                new() { Trace = need.Scenario.FileName, TraceSha256 = "", Engine = engine, Profile = need.Profile, Phase = "all", TotalCycles = total };
            results.Add(need.Scenario, need.Profile, [Row("shadow-cached", shadow), Row("ept", ept), Row("hybrid", hybrid)], null!);
        }

        return results;
    }

    [Fact]
    public void Switching_must_match_the_better_everywhere_and_beat_it_somewhere()
    {
        var effect = Effects.All(1000).Single(e => e.Id == "switching-matches-the-better");
        Assert.Equal(["forkwait", "kernel-build", "webserver", "database"], effect.Needs.Select(n => n.Scenario.Workload));
        Assert.All(effect.Needs, n => Assert.Equal("all", n.Scenario.Phase)); // whole runs: a switch must pay for itself
        Assert.All(effect.Needs, n => Assert.Equal(["shadow-cached", "ept", "hybrid"], n.Engines));

        // Beats ept on database by 10% (110 / 100), matches elsewhere: ok, measured 10%.
        var beats = FidelityRow.Of(effect, Switching(w => w == "database" ? (150, 110, 100) : (200, 100, 100)));
        Assert.True(beats.DirectionOk);
        Assert.Equal(10, beats.Measured, 9);

        // Matches everywhere but beats nowhere: wrong.
        Assert.False(FidelityRow.Of(effect, Switching(_ => (200, 100, 100))).DirectionOk);

        // Beats somewhere, but trails the better by 2% on kernel-build (it switched there and paid for it): wrong.
        Assert.False(FidelityRow.Of(effect, Switching(w => w switch { "database" => (150, 110, 100), "kernel-build" => (100, 120, 102), _ => (200, 100, 100) })).DirectionOk);
    }

    [Fact]
    public void Within_4_percent_of_native_is_a_bound()
    {
        var effect = Effects.All(1000).Single(e => e.Id == "agile-near-native");
        Assert.Equal(1.0, effect.Published.Ratio(1.58)); // nearer native than the bound: inside it
        Assert.Equal(1.0, effect.Published.Ratio(4));
        Assert.Equal(1.5, effect.Published.Ratio(6));
        Assert.True(double.IsNaN(effect.Published.Ratio(-1))); // faster than native is no ratio to a bound at 0
    }
}
