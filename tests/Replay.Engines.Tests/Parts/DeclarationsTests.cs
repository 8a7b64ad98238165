using Replay.Engines.Contract;
using Replay.Engines.Registry;

namespace Replay.Engines.Tests.Parts;

/// <summary>An engine or part declares its exit kinds, counters and options once, and counts and reads them by typed handle.</summary>
public sealed class DeclarationsTests
{
    [Fact]
    public void Exit_kinds_get_their_indexes_in_declaration_order_and_a_part_is_included_at_an_offset()
    {
        var part = new ExitKindList();
        var fill = part.Add(ExitReason.EptViolation, "fill");
        var prefetch = part.Add(ExitReason.WithinExit, "prefetch");

        var engine = new ExitKindList();
        var cr3 = engine.Add(ExitReason.CrAccess, "cr3");
        int offset = engine.Include(part);
        var own = engine.Add(ExitReason.ExternalInterrupt, "switch");

        Assert.Equal((0, 1), (fill.Index, prefetch.Index));
        Assert.Equal((0, 1, 3), (cr3.Index, offset, own.Index));
        Assert.Equal(2, prefetch.At(offset));
        Assert.Equal(["cr3", "fill", "prefetch", "switch"], engine.All.Select(k => k.Handler));
        Assert.Equal(ExitReason.WithinExit, engine.All[prefetch.At(offset)].Reason);
    }

    [Fact]
    public void A_declaration_after_its_list_was_read_fails_loudly()
    {
        // The static-initialisation-order mistake (a descriptor built before the kinds it lists) cannot go unnoticed.
        var kinds = new ExitKindList();
        kinds.Add(ExitReason.CrAccess, "cr3");
        Assert.Single(kinds.All);
        Assert.Throws<InvalidOperationException>(() => kinds.Add(ExitReason.Invlpg, "invlpg"));
        Assert.Throws<InvalidOperationException>(() => kinds.Include(new ExitKindList()));

        var counters = new CounterList();
        counters.Add("a");
        Assert.Equal(["a"], counters.All);
        Assert.Throws<InvalidOperationException>(() => counters.Add("b"));

        var options = new OptionList();
        options.Bool("flag", true, "a flag");
        Assert.Single(options.All);
        Assert.Throws<InvalidOperationException>(() => options.Int("n", "1", "a number"));
    }

    [Fact]
    public void Counting_by_handle_lands_on_the_declared_counter_and_exit_kind()
    {
        var counters = new CounterList();
        counters.Add("first");
        var second = counters.Add("second");
        var kinds = new ExitKindList();
        kinds.Add(ExitReason.CrAccess, "cr3");
        var within = kinds.Add(ExitReason.WithinExit, "work");
        var stats = new EngineStats(kinds.All.Count, counters.All.Count);

        stats.Count(second, 5);
        stats.Count(second);
        stats.Within(within, 7);
        stats.Exit(new ExitHandle(0), 2);

        Assert.Equal([0L, 6L], stats.Counters);
        Assert.Equal([1L, 1L], stats.ExitCounts);
        Assert.Equal([2L, 7L], stats.ExitUnits);
        Assert.Equal(1, stats.Exits); // work within an exit is not an exit
    }

    [Fact]
    public void Option_handles_read_the_values_the_registry_validated()
    {
        var options = new OptionList();
        var flag = options.Bool("flag", true, "a flag");
        var n = options.Int("n", EngineOption.Auto, "a number or auto", min: 1, max: 100);
        var mode = options.Choice("mode", "a", "a choice", ["a", "b"]);
        var toy = new EngineDescriptor("toy", "a toy", options.All, (_, _) => throw new NotSupportedException());

        var set = EngineRegistry.Parse("toy:flag=off,n=7,mode=B", [toy]);
        Assert.False(flag.Of(set.Options));
        Assert.Equal(7, n.Of(set.Options));
        Assert.Equal(7, n.OrAuto(set.Options, 42));
        Assert.Equal("b", mode.Of(set.Options));
        Assert.Equal("toy:flag=false,mode=b,n=7", set.CanonicalName);

        var defaults = EngineRegistry.Parse("toy", [toy]);
        Assert.True(flag.Of(defaults.Options));
        Assert.Equal(42, n.OrAuto(defaults.Options, 42));
        Assert.Throws<EngineSpecException>(() => EngineRegistry.Parse("toy:n=0", [toy]));
    }

    [Fact]
    public void Every_built_in_engine_declares_distinct_option_names()
    {
        Assert.All(EngineRegistry.All, d => Assert.Equal(d.Options.Count, d.Options.Select(o => o.Name).Distinct().Count()));
    }
}
