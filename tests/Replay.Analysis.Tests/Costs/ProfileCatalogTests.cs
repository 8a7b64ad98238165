using System.Text.Json;
using Replay.Analysis.Costs;
using Replay.Engines.Registry;

namespace Replay.Analysis.Tests.Costs;

public class ProfileCatalogTests
{
    /// <summary>Handlers the registered engines declare (their descriptors' exit kinds); every built-in profile must price all of them.</summary>
    public static IReadOnlyList<string> EngineHandlers => EngineRegistry.All.SelectMany(d => d.ExitKinds).Select(k => k.Handler).Distinct().ToList();

    public static TheoryData<string> BuiltInNames() => new(ProfileCatalog.BuiltIn.Select(p => p.Name));

    [Fact]
    public void Built_ins_span_generations_from_the_first_VT_x_to_Skylake()
    {
        var names = ProfileCatalog.BuiltIn.Select(p => p.Name).ToList();
        Assert.Equal(["prescott", "core2", "nehalem", "sandybridge", "skylake"], names);
        Assert.Equal("skylake", ProfileCatalog.Default.Name);
    }

    [Fact]
    public void Every_embedded_profile_file_is_a_built_in()
    {
        var resources = typeof(ProfileCatalog).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("profiles.", StringComparison.Ordinal));
        Assert.Equal(ProfileCatalog.BuiltIn.Count, resources.Count());
    }

    [Theory]
    [MemberData(nameof(BuiltInNames))]
    public void Every_number_of_a_built_in_has_a_labelled_source(string name)
    {
        var profile = ProfileCatalog.Resolve(name);
        Assert.Empty(ProfileAudit.Problems(profile));
    }

    [Theory]
    [MemberData(nameof(BuiltInNames))]
    public void Every_source_of_a_built_in_is_an_estimate_or_names_its_publication(string name)
    {
        var profile = ProfileCatalog.Resolve(name);
        // A published figure names where it was published: REFERENCES.md, or the source with its year.
        Assert.All(profile.Sources, s =>
            Assert.True(s.Value.Contains("[est]", StringComparison.Ordinal) || s.Value.Contains("REFERENCES", StringComparison.Ordinal)
                || System.Text.RegularExpressions.Regex.IsMatch(s.Value, @"\b(19|20)\d\d\b|Intel|AnandTech|TechReport"), s.Key));
    }

    [Theory]
    [MemberData(nameof(BuiltInNames))]
    public void Every_built_in_prices_every_engine_handler(string name)
    {
        var profile = ProfileCatalog.Resolve(name);
        Assert.Empty(ProfileAudit.Unpriced(profile, EngineRegistry.All));
        Assert.False(string.IsNullOrWhiteSpace(profile.Description));
        Assert.NotNull(profile.Tlb.L1d4K);
        Assert.NotNull(profile.Tlb.L1i4K);
    }

    [Fact]
    public void The_handler_list_comes_from_the_registry_and_covers_every_engine_of_SPEC_3()
    {
        // The list the profiles are checked against is derived, not kept by hand; it holds the SPEC §3 handlers.
        Assert.Superset(new HashSet<string>(["shadow_fill", "guest_pf_reflect", "cr3_flush", "flush_all", "invlpg", "pt_emulate", "fast_emulate",
            "oos_unsync", "oos_resync", "cr3_switch", "unshadow", "ptwr_disconnect", "ptwr_reconnect", "ptwr_emulate", "mmu_update",
            "new_baseptr", "mmuext_op", "ept_fill", "hybrid_to_shadow", "hybrid_to_nested"]), EngineHandlers.ToHashSet());
    }

    [Fact]
    public void The_audit_reports_a_number_without_source_and_an_unlabelled_source()
    {
        // Round has no sources at all: every cost and both TLB arrays lack one.
        var problems = ProfileAudit.Problems(TestProfiles.Round);
        Assert.Contains(problems, p => p.Contains("'transitions.vmexit'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'tlb.stlb'", StringComparison.Ordinal));

        var json = TestProfiles.RoundJson.Replace("\"tlb\":", "\"sources\": { \"walk.l1_cycles\": \"trust me\", \"walk.nope\": \"[est] x\" },\n  \"tlb\":", StringComparison.Ordinal);
        problems = ProfileAudit.Problems(ProfileCatalog.Parse(json));
        Assert.Contains(problems, p => p.Contains("'walk.l1_cycles'", StringComparison.Ordinal) && p.Contains("mark", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'walk.nope'", StringComparison.Ordinal) && p.Contains("names no number", StringComparison.Ordinal));
    }

    [Fact]
    public void Prescott_carries_the_published_Pentium_4_numbers()
    {
        var p = ProfileCatalog.Resolve("prescott");
        Assert.Equal(1931 + 2409, p.Transitions.VmExit);   // Adams & Agesen 2006: page-fault VM exit + VM entry on the P4 672
        // A Linux demand fault: Adams & Agesen's native page-fault nanobenchmark (1093) plus the handler and the clear.
        Assert.Contains("1093", p.Sources["guest.guest_fault_cycles"], StringComparison.Ordinal);
        Assert.True(p.GuestFaultCycles > 1093);
        Assert.Equal(11242 - 1931 - 2409, p.Handler("shadow_fill").Fixed);
        Assert.Equal(12733 - 1931 - 2409, p.Handler("pt_emulate").Fixed);
        Assert.Null(p.Tlb.Stlb);
        Assert.Equal(new(64, 64), p.Tlb.L1d4K);
    }

    [Fact]
    public void Newer_generations_scale_handler_software_by_their_cycles_per_instruction()
    {
        // A handler is software: the Pentium 4's 6902 × Nehalem's 1.33 / the Pentium 4's 2.0 cycles per instruction = 4589.8 → 4590;
        // the hardware round trip is Nehalem's own measured 1009.
        var nehalem = ProfileCatalog.Resolve("nehalem");
        var prescott = ProfileCatalog.Resolve("prescott");
        Assert.Equal(1009, nehalem.Transitions.VmExit);
        Assert.Equal(Math.Round(prescott.Handler("shadow_fill").Fixed * nehalem.CyclesPerInsn / prescott.CyclesPerInsn), nehalem.Handler("shadow_fill").Fixed);
        Assert.Equal(4590, nehalem.Handler("shadow_fill").Fixed);
        Assert.False(nehalem.Tlb.Vpid is false);
        Assert.False(prescott.Tlb.Vpid);
        Assert.Equal(new(512, 4), nehalem.Tlb.Stlb);
        Assert.False(nehalem.Tlb.Stlb2M);
        Assert.Equal(4, nehalem.Tlb.PscPdpt);
    }

    [Fact]
    public void Core2_is_the_VT_x_generation_between_the_Pentium_4_and_Nehalem()
    {
        // Agesen et al. 2012, Table 1: Merom 1579. No EPT, no VPID, no STLB (DTLB1, 256 entries 4-way, is the last
        // level), no L3 (the E6420's 4 MB 16-way L2); its handler software runs at Nehalem's cycles per instruction.
        var core2 = ProfileCatalog.Resolve("core2");
        var nehalem = ProfileCatalog.Resolve("nehalem");
        Assert.Equal(1579, core2.Transitions.VmExit);
        Assert.False(core2.Tlb.Vpid);
        Assert.Null(core2.Tlb.Stlb);
        Assert.Equal(new(256, 4), core2.Tlb.L1d4K);
        Assert.Equal(nehalem.CyclesPerInsn, core2.CyclesPerInsn);
        Assert.Equal(nehalem.Handler("pt_emulate"), core2.Handler("pt_emulate"));
        Assert.Equal(3, core2.Walk.L1);
        Assert.Equal(14, core2.Walk.L2);
        Assert.Equal(0, core2.Walk.L3);
    }

    [Fact]
    public void Skylake_has_the_large_STLB_that_holds_2M_pages()
    {
        var p = ProfileCatalog.Resolve("SKYLAKE");
        Assert.Equal(new(1536, 12), p.Tlb.Stlb);
        Assert.True(p.Tlb.Stlb2M);
        Assert.False(p.Tlb.Stlb1G);
        Assert.Equal(new(4, 4), p.Tlb.L1d1G);
    }

    [Fact]
    public void A_profile_keeps_its_exact_document_text()
    {
        var p = ProfileCatalog.Resolve("nehalem");
        using var doc = JsonDocument.Parse(p.Json);
        Assert.Equal("nehalem", doc.RootElement.GetProperty("name").GetString());
        Assert.Same(p, ProfileCatalog.Resolve("nehalem"));
    }

    [Fact]
    public void Resolve_loads_a_file_path()
    {
        using var dir = new TempDir();
        string path = dir.File("mine.json");
        File.WriteAllText(path, TestProfiles.RoundJson);
        var p = ProfileCatalog.Resolve(path);
        Assert.Equal("round", p.Name);
        Assert.Equal(TestProfiles.RoundJson, p.Json);
        Assert.Equal(new HandlerCost(500, 200), p.Handler("shadow_fill"));
    }

    [Fact]
    public void An_unknown_name_lists_the_built_ins()
    {
        var e = Assert.Throws<ProfileException>(() => ProfileCatalog.Resolve("haswell"));
        Assert.Contains("'haswell'", e.Message, StringComparison.Ordinal);
        Assert.All(ProfileCatalog.BuiltIn, p => Assert.Contains(p.Name, e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var e = Assert.Throws<ProfileException>(() => ProfileCatalog.Resolve("/nonexistent/mine.json"));
        Assert.Contains("/nonexistent/mine.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_JSON_names_the_file_and_the_line()
    {
        using var dir = new TempDir();
        string path = dir.File("broken.json");
        File.WriteAllText(path, "{\n  \"name\": \"broken\",\n  \"transitions\": { \"vmexit\": 1000 \"pv_trap\": 1 }\n}\n");
        var e = Assert.Throws<ProfileException>(() => ProfileCatalog.Resolve(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("line 3", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"l1_cycles\": 10, ", "walk.l1_cycles")]
    [InlineData("\"guest_fault_cycles\": 1000 ", "guest.guest_fault_cycles")]
    [InlineData("\"l1d_4k\": { \"entries\": 64, \"ways\": 4 },", "tlb.l1d_4k")]
    public void A_missing_required_field_is_named(string removed, string field)
    {
        string json = TestProfiles.RoundJson.Replace(removed, "", StringComparison.Ordinal);
        Assert.NotEqual(TestProfiles.RoundJson, json);
        var e = Assert.Throws<ProfileException>(() => ProfileCatalog.Parse(json, "profile file 'x.json'"));
        Assert.Contains($"'{field}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("x.json", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"l1_cycles\": 10", "\"l1_cycle\": 10", "walk.l1_cycle")]
    [InlineData("\"vmexit\": 1000", "\"vmexit\": -1", "transitions.vmexit")]
    [InlineData("\"entries\": 512, \"ways\": 4", "\"entries\": 512, \"ways\": 5", "tlb.stlb")]
    [InlineData("[\"4k\"]", "[\"2m\"]", "tlb.stlb.page_sizes")]
    public void A_bad_field_is_named(string from, string to, string field)
    {
        string json = TestProfiles.RoundJson.Replace(from, to, StringComparison.Ordinal);
        var e = Assert.Throws<ProfileException>(() => ProfileCatalog.Parse(json));
        Assert.Contains($"'{field}", e.Message, StringComparison.Ordinal);
    }
}
