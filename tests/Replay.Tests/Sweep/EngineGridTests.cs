using Replay.Engines.Registry;
using Replay.Sweep;

namespace Replay.Tests.Sweep;

public sealed class EngineGridTests
{
    [Fact]
    public void Options_expand_to_their_cartesian_product_first_option_slowest_in_canonical_names()
    {
        // 3 prefetch values × 2 personalities = 6 configurations. prefetch and personality are both non-default
        // except personality=xen (the default), which the canonical name leaves out; keys are sorted.
        var specs = EngineGrid.Expand("shadow-cached:prefetch=0|8|32,personality=xen|kvm", "--engine").Select(s => s.CanonicalName);
        Assert.Equal(
        [
            "shadow-cached:prefetch=0", "shadow-cached:personality=kvm,prefetch=0",
            "shadow-cached:prefetch=8", "shadow-cached:personality=kvm,prefetch=8",
            "shadow-cached:prefetch=32", "shadow-cached:personality=kvm,prefetch=32",
        ], specs);
    }

    [Fact]
    public void Configurations_that_are_the_same_engine_run_once()
    {
        // shadow-flush's prefetch defaults to 0: prefetch=0 and prefetch=0..0 are both plain shadow-flush.
        var specs = EngineGrid.Expand("shadow-flush:prefetch=0|0..4:+4", "--engine").Select(s => s.CanonicalName);
        Assert.Equal(["shadow-flush", "shadow-flush:prefetch=4"], specs);
    }

    [Fact]
    public void All_is_every_engine_with_its_defaults() =>
        Assert.Equal(Engines.Registry.EngineRegistry.All.Select(d => d.Name), EngineGrid.Expand("all", "--engine").Select(s => s.CanonicalName));

    [Theory]
    [InlineData("shadow-cached:prefetch=0|600", "--engine 'shadow-cached:prefetch=0|600'")]
    [InlineData("shadow-cachd:prefetch=8", "Unknown engine 'shadow-cachd'")]
    [InlineData("ept:bogus=1|2", "has no option 'bogus'")]
    [InlineData("ept:prepopulate", "not of the form key=value")]
    [InlineData("shadow-cached:pool_pages=64..8:x2", "ends below its start")]
    public void A_bad_entry_is_a_usage_error_naming_the_entry(string entry, string message)
    {
        var e = Assert.Throws<SweepUsageException>(() => EngineGrid.Expand(entry, "--engine"));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.StartsWith($"--engine '{entry}': ", e.Message, StringComparison.Ordinal);
    }
}
