using Replay.Analysis.Costs;
using Replay.Fidelity;

namespace Replay.Tests.Fidelity;

/// <summary>
/// <see cref="FidelityProfiles"/>: Adams &amp; Agesen's pre-production Core 2 is <c>core2</c> with that part's measured
/// transitions (VM entry 937 + page-fault exit 1186) and nothing else changed.
/// </summary>
public sealed class FidelityProfilesTests
{
    [Fact]
    public void The_preproduction_core2_has_its_own_transitions_and_core2s_everything_else()
    {
        var core2 = ProfileCatalog.Resolve("core2");
        var aa = FidelityProfiles.Resolve(FidelityProfiles.Core2Aa2006);

        Assert.Equal("core2-aa2006", aa.Name);
        Assert.Equal(new TransitionCosts(2123, 259, 183), aa.Transitions); // 937 + 1186; 484 and 342 × 2123/3963, rounded
        Assert.Equal(new TransitionCosts(1579, 193, 136), core2.Transitions);
        Assert.Equal(core2.Handlers.OrderBy(h => h.Key), aa.Handlers.OrderBy(h => h.Key));
        Assert.Equal(core2.Walk, aa.Walk);
        Assert.Equal(core2.Tlb, aa.Tlb);
        Assert.Equal((core2.CyclesPerInsn, core2.CyclesPerAccess, core2.GuestFaultCycles), (aa.CyclesPerInsn, aa.CyclesPerAccess, aa.GuestFaultCycles));
        Assert.Contains("937", aa.Sources["transitions.vmexit"], StringComparison.Ordinal);
        Assert.Contains("[pub]", aa.Sources["transitions.vmexit"], StringComparison.Ordinal);
        Assert.Same(aa, FidelityProfiles.Resolve(FidelityProfiles.Core2Aa2006)); // built once
        Assert.Same(core2, FidelityProfiles.Resolve("core2"));                  // the built-ins as they are
    }

    [Fact]
    public void The_preproduction_core2_prices_the_forkwait_effect_on_that_machine()
    {
        var effect = Effects.All(1000).Single(e => e.Id == "forkwait-vtx-shadow-core2");
        Assert.Equal([FidelityProfiles.Core2Aa2006], effect.Needs.Select(n => n.Profile));
        Assert.DoesNotContain(Effects.All(1000).Where(e => e.Id != "forkwait-vtx-shadow-core2"), e => e.Needs.Any(n => n.Profile == FidelityProfiles.Core2Aa2006));
    }
}
