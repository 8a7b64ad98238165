using Replay.Analysis.Costs;

namespace Replay.Analysis.Tests.Costs;

/// <summary>
/// Every number of a profile is checked against a physically sane range, with the key named (issue 15, item 3):
/// before, a 2^30-entry STLB ran out of memory, a 2-billion-entry PSC crashed, 1e308 cycles priced as Infinity,
/// a duplicate key was accepted, and <c>/dev/zero</c> was read until memory ran out.
/// </summary>
public class ProfileBoundsTests
{
    private static ProfileException Fails(string from, string to)
    {
        string json = TestProfiles.RoundJson.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(TestProfiles.RoundJson, json);
        return Assert.Throws<ProfileException>(() => ProfileCatalog.Parse(json, "profile file 'x.json'"));
    }

    [Theory]
    [InlineData("\"stlb\": { \"entries\": 512,", "\"stlb\": { \"entries\": 1073741824,", "tlb.stlb.entries", "from 0 to 65536 (got 1073741824)")]
    [InlineData("\"l1d_4k\": { \"entries\": 64, \"ways\": 4 }", "\"l1d_4k\": { \"entries\": 64, \"ways\": 4 }, \"psc\": { \"pd\": 2000000000 }", "tlb.psc.pd", "from 0 to 65536 (got 2000000000)")]
    [InlineData("\"l3\": { \"kib\": 8192,", "\"l3\": { \"kib\": 2097152,", "cache.l3.kib", "from 0 to 1048576 (got 2097152)")]
    [InlineData("\"l1d\": { \"kib\": 32,", "\"l1d\": { \"kib\": 8192,", "cache.l1d.kib", "from 0 to 4096 (got 8192)")]
    [InlineData("\"l2\": { \"kib\": 256, \"ways\": 4 }", "\"l2\": { \"kib\": 256, \"ways\": 4096 }", "cache.l2.ways", "from 0 to 1024 (got 4096)")]
    [InlineData("\"vmexit\": 1000,", "\"vmexit\": 1e308,", "transitions.vmexit", "from 0 to 1e9 (got 1e308)")]
    [InlineData("\"guest_fault_cycles\": 1000", "\"guest_fault_cycles\": 2e9", "guest.guest_fault_cycles", "from 0 to 1e9 (got 2e9)")]
    [InlineData("\"shadow_fill\": { \"fixed\": 500,", "\"shadow_fill\": { \"fixed\": -1,", "handlers.shadow_fill.fixed", "from 0 to 1e9 (got -1)")]
    public void A_number_outside_its_sane_range_is_an_error_naming_the_key(string from, string to, string key, string range)
    {
        var e = Fails(from, to);

        Assert.Contains($"'{key}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(range, e.Message, StringComparison.Ordinal);
        Assert.Contains("x.json", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"vmexit\": 1000,", "\"vmexit\": 1000, \"vmexit\": 5,")]
    [InlineData("\"cr3_flush\": { \"fixed\": 300, \"per_unit\": 2 },", "\"cr3_flush\": { \"fixed\": 300, \"per_unit\": 2 }, \"cr3_flush\": { \"fixed\": 1, \"per_unit\": 1 },")]
    public void A_key_given_twice_is_an_error(string from, string to)
    {
        var e = Fails(from, to);

        Assert.StartsWith("The profile file 'x.json' is not valid JSON at line", e.Message, StringComparison.Ordinal);
        Assert.Contains("Duplicate", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_largest_sane_values_are_accepted()
    {
        string json = TestProfiles.RoundJson
            .Replace("\"stlb\": { \"entries\": 512,", "\"stlb\": { \"entries\": 65536,", StringComparison.Ordinal)
            .Replace("\"vmexit\": 1000,", "\"vmexit\": 1e9,", StringComparison.Ordinal);

        CostProfile p = ProfileCatalog.Parse(json, "x");

        Assert.Equal(65536, p.Tlb.Stlb!.Entries);
        Assert.Equal(1e9, p.Transitions.VmExit);
    }

    [Fact]
    public void A_device_that_never_ends_is_refused_after_a_mebibyte()
    {
        var e = Assert.Throws<ProfileException>(() => ProfileCatalog.Load("/dev/zero"));

        Assert.Equal("Profile file '/dev/zero' is larger than 1024 KiB; a profile is a JSON document of a few KB.", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_utf8_is_named()
    {
        using var dir = new TempDir();
        string path = dir.File("latin1.json");
        File.WriteAllBytes(path, [(byte)'{', 0xE9, 0xFF, (byte)'}']);

        var e = Assert.Throws<ProfileException>(() => ProfileCatalog.Load(path));

        Assert.Equal($"Profile file '{path}' is not UTF-8 text.", e.Message);
    }
}
