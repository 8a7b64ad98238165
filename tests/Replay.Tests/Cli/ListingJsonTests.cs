using System.Text.Json;
using Replay.Analysis.Costs;
using Replay.Engines.Contract;
using Replay.Engines.Registry;

namespace Replay.Tests.Cli;

/// <summary><c>--json</c> on the listing commands: the same content as the text listing, for scripts.</summary>
public sealed class ListingJsonTests
{
    [Fact]
    public async Task Engines_json_lists_every_engine_with_every_option_and_its_default()
    {
        var (code, stdout, err) = await Cli.RunAsync("engines", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(stdout);
        var engines = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(EngineRegistry.All.Select(d => d.Name), engines.Select(e => e.GetProperty("name").GetString()));
        foreach (var (d, e) in EngineRegistry.All.Zip(engines))
        {
            var options = e.GetProperty("options").EnumerateArray().ToList();
            Assert.Equal(d.Options.Select(o => (o.Name, o.Default)), options.Select(o => (o.GetProperty("name").GetString()!, o.GetProperty("default").GetString()!)));
        }

        var prefetch = engines.Single(e => e.GetProperty("name").GetString() == "shadow-flush").GetProperty("options").EnumerateArray()
            .Single(o => o.GetProperty("name").GetString() == "prefetch");
        Assert.Equal(("int", 0L, 511L), (prefetch.GetProperty("kind").GetString(), prefetch.GetProperty("min").GetInt64(), prefetch.GetProperty("max").GetInt64()));
        var personality = engines.Single(e => e.GetProperty("name").GetString() == "shadow-cached").GetProperty("options").EnumerateArray()
            .Single(o => o.GetProperty("name").GetString() == "personality");
        Assert.Equal(["xen", "kvm"], personality.GetProperty("choices").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task Profiles_json_holds_every_built_in_profile_whole_and_marks_the_default_once()
    {
        var (code, stdout, err) = await Cli.RunAsync("profiles", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(stdout);
        var profiles = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(ProfileCatalog.BuiltIn.Select(p => p.Name), profiles.Select(p => p.GetProperty("name").GetString()));
        Assert.Equal([ProfileCatalog.DefaultName], profiles.Where(p => p.GetProperty("default").GetBoolean()).Select(p => p.GetProperty("name").GetString()));
        foreach (var (p, j) in ProfileCatalog.BuiltIn.Zip(profiles))
        {
            // The document is the profile itself: parsed back, it prices as the built-in does.
            Assert.Equal(p.Transitions.VmExit, j.GetProperty("profile").GetProperty("transitions").GetProperty("vmexit").GetDouble());
        }
    }
}
