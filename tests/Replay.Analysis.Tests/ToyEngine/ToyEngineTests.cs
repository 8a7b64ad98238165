using Replay.Analysis.Costs;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Registry;
using Replay.Engines.Trace;

namespace Replay.Analysis.Tests.ToyEngine;

/// <summary>
/// Adding an engine is one folder (<see cref="ToyEngine"/>), one registry entry and its handler costs: the registry
/// parses and builds it from its descriptor alone, the profile audit names its unpriced handler from the declared exit
/// kinds, and once a profile prices that handler its runs are priced exactly.
/// </summary>
public sealed class ToyEngineTests
{
    private static readonly IReadOnlyList<EngineDescriptor> WithToy = [.. EngineRegistry.All, ToyEngine.Descriptor];

    [Fact]
    public void The_registry_parses_and_builds_an_added_engine_from_its_descriptor()
    {
        var spec = EngineRegistry.Parse("toy:units=3", WithToy);
        Assert.Equal("toy:units=3", spec.CanonicalName);
        Assert.IsType<ToyEngine>(spec.Create(MachineConfig.Default()));
        var unknown = Assert.Throws<EngineSpecException>(() => EngineRegistry.Parse("toy"));
        Assert.DoesNotContain("toy,", unknown.Message, StringComparison.Ordinal); // the built-in table does not know it
        Assert.Contains("toy", Assert.Throws<EngineSpecException>(() => EngineRegistry.Parse("nope", WithToy)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_audit_names_the_handler_a_profile_does_not_price_yet()
    {
        var skylake = ProfileCatalog.Resolve("skylake");
        Assert.Empty(ProfileAudit.Unpriced(skylake, EngineRegistry.All));
        Assert.Equal(["Profile 'skylake' does not price handler 'toy_cr3' of engine 'toy'."], ProfileAudit.Unpriced(skylake, WithToy));
    }

    [Fact]
    public void With_its_handler_cost_in_a_profile_the_added_engine_is_priced_exactly()
    {
        var skylake = ProfileCatalog.Resolve("skylake");
        string json = skylake.Json
            .Replace("\"handlers\": {", "\"handlers\": {\n    \"toy_cr3\": { \"fixed\": 1000, \"per_unit\": 10 },", StringComparison.Ordinal)
            .Replace("\"sources\": {", "\"sources\": {\n    \"handlers.toy_cr3.fixed\": \"[est] a test's figure\",\n    \"handlers.toy_cr3.per_unit\": \"[est] a test's figure\",", StringComparison.Ordinal);
        var profile = ProfileCatalog.Parse(json);
        Assert.Empty(ProfileAudit.Unpriced(profile, WithToy));
        Assert.Empty(ProfileAudit.Problems(profile));

        // Two CR3 loads of root frame 0x10 at 3 units each: 2 × (vmexit + 1000) + 6 × 10.
        var b = new EventBatch(8);
        b.Add(TraceOp.Cr3, value: 0x10_000);
        b.Add(TraceOp.Cr3, value: 0x10_000);
        var e = EngineRegistry.Parse("toy:units=3", WithToy).Create(MachineConfig.Default());
        e.Run(b, 0, b.Count, verify: true);
        var priced = Pricing.Price(profile, e.ExitKinds, e.Stats);
        Assert.Equal((2 * (profile.Transitions.VmExit + 1000)) + 60, priced.ExitCycles);
        Assert.Throws<ProfileException>(() => Pricing.Price(skylake, e.ExitKinds, e.Stats));
    }
}
