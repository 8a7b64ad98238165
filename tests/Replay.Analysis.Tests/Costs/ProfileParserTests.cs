using System.Text.Json.Nodes;
using Replay.Analysis.Costs;
using Replay.Engines.Caches;

namespace Replay.Analysis.Tests.Costs;

/// <summary>
/// The profile's cache section, walk prices by level, <c>guest.cycles_per_insn</c> and <c>tlb.vpid</c>
/// (<see cref="ProfileParser"/>), an earlier release's format (flat <c>walk.ref_cycles</c>), and the sources
/// <see cref="ProfileAudit"/> asks for them.
/// </summary>
public class ProfileParserTests
{
    private static ProfileException Fails(string json) => Assert.Throws<ProfileException>(() => ProfileCatalog.Parse(json, "profile file 'x.json'"));

    private static string Edit(string from, string to)
    {
        string json = TestProfiles.RoundJson.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(TestProfiles.RoundJson, json);
        return json;
    }

    [Fact]
    public void The_cache_section_walk_prices_and_cycles_per_insn_are_read()
    {
        var p = TestProfiles.Round;
        Assert.Equal(new WalkCosts(10, 20, 40, 100, 2, 1), p.Walk);
        Assert.Equal(0.5, p.CyclesPerInsn);
        Assert.Equal(new CacheLevelGeometry(32, 8), p.Tlb.Caches.L1d);
        Assert.Equal(new CacheLevelGeometry(256, 4), p.Tlb.Caches.L2);
        Assert.Equal(new CacheLevelGeometry(8192, 16), p.Tlb.Caches.L3);
        Assert.True(p.Tlb.Vpid); // absent: VPID, as every CPU since Nehalem
    }

    [Fact]
    public void A_profile_missing_cache_l1d_is_an_error_that_names_it()
    {
        var e = Fails(Edit("\"l1d\": { \"kib\": 32, \"ways\": 8 }, ", ""));
        Assert.Contains("'cache.l1d'", e.Message, StringComparison.Ordinal);
        Assert.Contains("x.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_profile_without_an_L3_has_none()
    {
        var p = ProfileCatalog.Parse(Edit(", \"l3\": { \"kib\": 8192, \"ways\": 16 }", ", \"l3\": null"));
        Assert.Null(p.Tlb.Caches.L3);
        Assert.NotNull(p.Tlb.Caches.L2);
    }

    [Theory]
    [InlineData("\"l2\": { \"kib\": 256, \"ways\": 4 }", "\"l2\": { \"kib\": 256, \"ways\": 3 }", "cache.l2")]   // 4,096 lines in 3 ways
    [InlineData("\"l1d\": { \"kib\": 32, \"ways\": 8 }", "\"l1d\": { \"kib\": 32, \"ways\": 0 }", "cache.l1d")] // no ways
    [InlineData("\"l3\": { \"kib\": 8192, \"ways\": 16 }", "\"l3\": { \"kib\": 0, \"ways\": 16 }", "cache.l3")]  // no lines
    [InlineData("\"l2\": { \"kib\": 256, \"ways\": 4 }", "\"l2\": { \"kib\": 256, \"way\": 4 }", "cache.l2.way")]
    public void A_cache_level_whose_ways_do_not_divide_its_lines_is_an_error_that_names_it(string from, string to, string field)
    {
        var e = Fails(Edit(from, to));
        Assert.Contains($"'{field}'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"yes\"")]
    [InlineData("1")]
    public void Tlb_vpid_must_be_true_or_false(string value)
    {
        var e = Fails(Edit("\"tlb\": {", $"\"tlb\": {{ \"vpid\": {value},"));
        Assert.Contains("'tlb.vpid'", e.Message, StringComparison.Ordinal);
        Assert.Contains("true or false", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tlb_vpid_false_is_a_CPU_whose_exits_flush_the_TLB() =>
        Assert.False(ProfileCatalog.Parse(Edit("\"tlb\": {", "\"tlb\": { \"vpid\": false,")).Tlb.Vpid);

    /// <summary>Round in an earlier release's format: one price per walk reference, no cycles_per_insn, no cache section.</summary>
    private static string Earlier()
    {
        var json = JsonNode.Parse(TestProfiles.RoundJson)!.AsObject();
        json["walk"] = new JsonObject { ["ref_cycles"] = 13, ["psc_hit_cycles"] = 2 };
        json["guest"]!.AsObject().Remove("cycles_per_insn");
        json.Remove("cache");
        return json.ToJsonString();
    }

    [Fact]
    public void An_earlier_releases_profile_prices_every_level_at_its_ref_cycles_and_instructions_at_nothing()
    {
        var p = ProfileCatalog.Parse(Earlier());

        // Every level at ref_cycles (13) so its reports re-price as they were priced; the psc price kept; no nested-TLB
        // price and no price for instructions, which that release did not count; the default cache geometry.
        Assert.Equal(new WalkCosts(13, 13, 13, 13, 2, 0), p.Walk);
        Assert.Equal(0, p.CyclesPerInsn);
        Assert.Equal(1000, p.GuestFaultCycles);
        Assert.Equal(CacheGeometry.Default, p.Tlb.Caches);
    }

    [Theory]
    [InlineData("l1_cycles", "walk.l1_cycles")]       // a new walk price beside ref_cycles
    [InlineData("cycles_per_insn", "guest.cycles_per_insn")]
    public void An_earlier_releases_profile_may_not_mix_in_the_new_fields(string field, string named)
    {
        var json = JsonNode.Parse(Earlier())!.AsObject();
        json[named.Split('.')[0]]!.AsObject()[field] = 1;
        var e = Fails(json.ToJsonString());
        Assert.Contains($"'{named}'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tlb.vpid")]
    [InlineData("cache.l1d")]
    [InlineData("cache.l2")]
    [InlineData("cache.l3")]
    public void The_audit_asks_a_source_for_tlb_vpid_and_each_cache_level(string path)
    {
        // Skylake is fully sourced; without the one entry the audit names exactly that number, and a cache level is one
        // number (its kib and ways share a source).
        var json = JsonNode.Parse(ProfileCatalog.Resolve("skylake").Json)!.AsObject();
        Assert.True(json["sources"]!.AsObject().Remove(path));
        var problems = ProfileAudit.Problems(ProfileCatalog.Parse(json.ToJsonString()));
        Assert.Equal([$"'{path}' has no entry in sources."], problems);
    }

    [Fact]
    public void The_audit_accepts_a_source_for_an_absent_L3()
    {
        // Prescott has no L3 ("cache.l3": null) and says why in its sources.
        var prescott = ProfileCatalog.Resolve("prescott");
        Assert.Null(prescott.Tlb.Caches.L3);
        Assert.True(prescott.Sources.ContainsKey("cache.l3"));
        Assert.Empty(ProfileAudit.Problems(prescott));
    }
}
