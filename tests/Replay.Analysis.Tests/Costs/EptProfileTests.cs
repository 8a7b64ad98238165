using Replay.Analysis.Costs;
using Replay.Engines.Tlb;

namespace Replay.Analysis.Tests.Costs;

/// <summary>The EPT dimension of a profile's geometry: <c>tlb.nested_tlb</c> and <c>tlb.ept_psc</c>.</summary>
public class EptProfileTests
{
    [Theory]
    [InlineData("prescott")]
    [InlineData("core2")]
    public void Generations_before_Nehalem_have_no_EPT_so_no_nested_TLB_and_no_EPT_paging_structure_caches(string name)
    {
        var g = ProfileCatalog.Resolve(name).Tlb;
        Assert.Null(g.NestedTlb);
        Assert.Equal((0, 0, 0), (g.EptPscPml4, g.EptPscPdpt, g.EptPscPd));
    }

    [Theory]
    [InlineData("nehalem", 16)]
    [InlineData("sandybridge", 16)]
    [InlineData("skylake", 32)]
    public void EPT_generations_carry_a_nested_TLB_and_EPT_paging_structure_caches(string name, int nestedEntries)
    {
        var g = ProfileCatalog.Resolve(name).Tlb;
        Assert.Equal(new TlbArray(nestedEntries, nestedEntries), g.NestedTlb);
        Assert.Equal((2, 4, 32), (g.EptPscPml4, g.EptPscPdpt, g.EptPscPd));
    }

    [Fact]
    public void A_profile_without_the_EPT_fields_has_none()
    {
        var g = TestProfiles.Round.Tlb;
        Assert.Null(g.NestedTlb);
        Assert.Equal(0, g.EptPscPd);
    }

    [Fact]
    public void A_misspelt_EPT_cache_level_is_an_error_that_names_it()
    {
        string json = TestProfiles.RoundJson.Replace(
            "\"stlb\":", "\"ept_psc\": { \"pml4\": 2, \"pde\": 4 },\n            \"stlb\":", StringComparison.Ordinal);
        var ex = Assert.Throws<ProfileException>(() => ProfileCatalog.Parse(json, "test profile"));
        Assert.Contains("tlb.ept_psc.pde", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_nested_TLB_needs_entries_divisible_by_ways()
    {
        string json = TestProfiles.RoundJson.Replace(
            "\"stlb\":", "\"nested_tlb\": { \"entries\": 10, \"ways\": 4 },\n            \"stlb\":", StringComparison.Ordinal);
        var ex = Assert.Throws<ProfileException>(() => ProfileCatalog.Parse(json, "test profile"));
        Assert.Contains("tlb.nested_tlb", ex.Message, StringComparison.Ordinal);
    }
}
