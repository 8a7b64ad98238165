using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Parts.Nested;
using Replay.Engines.Parts.Shadow;
using Replay.Engines.Registry;
using Replay.Engines.Tests.Engines;

namespace Replay.Engines.Tests.Parts;

/// <summary>
/// The shadow and nested machinery are parts an engine composes: a part placed at any offset of a composed engine's
/// exit kinds and counters counts there exactly what the engine made of it alone (<c>shadow-cached</c>, <c>ept</c>)
/// counts, and nothing outside its slice.
/// </summary>
public sealed class PartCompositionTests
{
    // Kinds and counters a composing engine puts before the part's own (as hybrid puts the shadow part's before the
    // nested part's), and after it.
    private const int KindsBefore = 2;
    private const int CountersBefore = 3;
    private const int After = 1;

    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(2, 2, true)]
    [InlineData(3, 3, true)]
    public void The_nested_part_counts_at_its_offset_what_ept_counts(int seed, int vcpus, bool pageTableWrites)
    {
        var t = ShadowCachedPropertyTests.RandomTrace(seed, vcpus, pageTableWrites);
        var config = MachineConfig.Default(vcpus: vcpus);
        var alone = t.Run(EngineRegistry.Parse("ept").Create(config));

        var machine = new GuestMachine(config);
        var stats = new EngineStats(KindsBefore + NestedPaging.Kinds.All.Count + After, CountersBefore + NestedPaging.Counters.All.Count + After);
        var part = new NestedPaging(machine, eptLevels: 4, largePages: false, prepopulate: false, stats, KindsBefore, CountersBefore);
        part.Start();
        ReplayLoop.Run(new NestedPaging.Hooks(part), t.Batch, 0, t.Batch.Count, verify: true);

        AssertSlice(alone.Stats, stats);
        Assert.Equal(alone.CounterNames, NestedPaging.Counters.All);
        Assert.True(alone.Count("ept_fill") > 0, "the trace touches frames the EPT does not map yet");
    }

    [Theory]
    [InlineData("xen", 1, 1)]
    [InlineData("xen", 2, 2)]
    [InlineData("kvm", 3, 1)]
    [InlineData("kvm", 4, 3)]
    public void The_shadow_part_counts_at_its_offset_what_shadow_cached_counts(string personality, int seed, int vcpus)
    {
        var t = ShadowCachedPropertyTests.RandomTrace(seed, vcpus, pageTableWrites: true);
        var config = MachineConfig.Default(vcpus: vcpus);
        var alone = t.Run(EngineRegistry.Parse($"shadow-cached:personality={personality}").Create(config));

        var p = personality == "kvm" ? Personality.Kvm : Personality.Xen;
        var machine = new GuestMachine(config);
        var names = ShadowMmu.CounterNamesFor(p);
        var stats = new EngineStats(KindsBefore + ShadowKinds.Kinds.All.Count + After, CountersBefore + names.Count + After);
        var part = new ShadowMmu(machine, ShadowOptions.Defaults(p, config), stats, KindsBefore, CountersBefore, pagesBase: 0, pcidHidden: false);
        ReplayLoop.Run(new ShadowMmu.Hooks(part), t.Batch, 0, t.Batch.Count, verify: true);

        AssertSlice(alone.Stats, stats);
        Assert.Equal(alone.CounterNames, names);
        Assert.True(alone.Count("pt_emulate") + alone.Count("oos_unsync") > 0, "the trace writes shadowed tables");
    }

    /// <summary>The composed stats hold the engine's exit counts, units and counters at the part's offsets, zeros around them, and the same common counts.</summary>
    private static void AssertSlice(EngineStats alone, EngineStats composed)
    {
        Assert.Equal(alone.ExitCounts, composed.ExitCounts.Skip(KindsBefore).Take(alone.ExitCounts.Length));
        Assert.Equal(alone.ExitUnits, composed.ExitUnits.Skip(KindsBefore).Take(alone.ExitUnits.Length));
        Assert.Equal(alone.Counters, composed.Counters.Skip(CountersBefore).Take(alone.Counters.Length));
        Assert.All(composed.ExitCounts.Take(KindsBefore).Concat(composed.ExitCounts.TakeLast(After)), c => Assert.Equal(0, c));
        Assert.All(composed.Counters.Take(CountersBefore).Concat(composed.Counters.TakeLast(After)), c => Assert.Equal(0, c));
        Assert.Equal(
            (alone.Exits, alone.TlbMisses, alone.WalkRefs, alone.GuestFaults, alone.PscHits, alone.ShadowPagesCreated, alone.ShadowPagesPeak, alone.EmulatedWrites),
            (composed.Exits, composed.TlbMisses, composed.WalkRefs, composed.GuestFaults, composed.PscHits, composed.ShadowPagesCreated, composed.ShadowPagesPeak, composed.EmulatedWrites));
    }
}
