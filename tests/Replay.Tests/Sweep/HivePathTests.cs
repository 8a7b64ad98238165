using Replay.Sweep;

namespace Replay.Tests.Sweep;

public sealed class HivePathTests
{
    [Theory]
    [InlineData("ept", "ept")]
    [InlineData("shadow-cached:oos=false", "shadow-cached%3Aoos%3Dfalse")]
    [InlineData("shadow-cached:personality=kvm,prefetch=8", "shadow-cached%3Apersonality%3Dkvm%2Cprefetch%3D8")]
    [InlineData("a/b%c d#e", "a%2Fb%25c%20d%23e")]
    [InlineData("web.events-20000.pq", "web.events-20000.pq")]
    public void Values_are_escaped_as_Hive_escapes_them(string value, string escaped) =>
        Assert.Equal(escaped, HivePath.Escape(value));

    [Fact]
    public void Escaping_round_trips_every_character_a_name_may_hold()
    {
        var random = new Random(14);
        for (int i = 0; i < 500; i++)
        {
            string value = new([.. Enumerable.Range(0, random.Next(1, 24)).Select(_ => (char)random.Next(1, 128))]);
            string escaped = HivePath.Escape(value);
            Assert.DoesNotContain('/', escaped);
            Assert.DoesNotContain('=', escaped);
            Assert.DoesNotContain(':', escaped);
            Assert.Equal(value, HivePath.Unescape(escaped));
        }
    }

    [Fact]
    public void A_cell_folder_nests_engine_profile_and_trace() =>
        Assert.Equal("engine=ept%3Alarge_pages%3Dtrue/profile=skylake/trace=web.pq", HivePath.CellFolder("ept:large_pages=true", "skylake", "web.pq"));
}
