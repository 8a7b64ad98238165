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
