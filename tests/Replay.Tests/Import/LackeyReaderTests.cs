using System.Text;
using Replay.Import;
using Replay.Tests.Cli;

namespace Replay.Tests.Import;

/// <summary>
/// The lackey reader counts exactly what the sample files hold. Every expected count below was taken
/// independently of this code with
/// <c>awk '{print substr($0,1,2)}' FILE | sort | uniq -c</c> (and <c>zcat FILE | ...</c> for the .gz),
/// which tallies the first two characters of each line: "I " fetch, " L", " S", " M", "==" valgrind banner.
/// </summary>
public sealed class LackeyReaderTests
{
    [Theory]
    // long.trace: 230,025 " L" + 18,987 " S" + 18,976 " M" = 267,988 lines (wc -l), no "I " (as samples/README.md says).
    [InlineData("cachelab/long.trace", 0, 230_025, 18_987, 18_976, 267_988)]
    // trans.trace: 378 "I " + 156 " L" + 42 " S" + 20 " M" = 596 lines.
    [InlineData("cachelab/trans.trace", 378, 156, 42, 20, 596)]
    [InlineData("cachelab/yi.trace", 0, 4, 1, 2, 7)]
    [InlineData("cachelab/yi2.trace", 0, 9, 6, 1, 16)]
    // dave.trace: its first line " L 10,4 " ends in a space.
    [InlineData("cachelab/dave.trace", 0, 2, 3, 0, 5)]
    // 173,775 "I " (= valgrind's own "guest instrs: 173,775" in the summary) + 32,904 " L" + 14,838 " S" + 1,476 " M"
    // + 25 "==" banner/summary lines = 223,018 lines (zcat | wc -l), the count samples/README.md gives.
    [InlineData("lackey/lackey_tiny_n1000.txt.gz", 173_775, 32_904, 14_838, 1_476, 223_018)]
    public void A_sample_yields_exactly_its_records(string sample, long fetches, long loads, long stores, long modifies, long lines)
    {
        using var reader = LackeyReader.Open(Samples.File(sample));
        var counts = Count(reader);
        Assert.Equal((fetches, loads, stores, modifies), counts);
        Assert.Equal(lines, reader.Line);
        Assert.Equal(0, reader.BadLines);
    }

    [Fact]
    public void Gzip_is_recognised_by_its_magic_bytes_not_its_name()
    {
        using var d = Cli.Cli.Temp();
        string copy = d.File("renamed.trace");
        File.Copy(Samples.File("lackey/lackey_tiny_n1000.txt.gz"), copy);
        using var reader = LackeyReader.Open(copy);
        Assert.Equal((173_775L, 32_904L, 14_838L, 1_476L), Count(reader));
    }

    [Fact]
    public void Fields_parse_with_one_or_two_leading_spaces_crlf_and_trailing_blanks()
    {
        var records = Read("I  0401ab70,3\n I 400000,1\r\n L 1fff000618,8  \n\n  S 7f,16\t\nM ff,4\n");
        Assert.Equal(
        [
            new AccessRecord(RecordKind.Fetch, 0x0401ab70, 3),
            new AccessRecord(RecordKind.Fetch, 0x400000, 1),
            new AccessRecord(RecordKind.Load, 0x1fff000618, 8),
            new AccessRecord(RecordKind.Store, 0x7f, 16),
            new AccessRecord(RecordKind.Modify, 0xff, 4),
        ], records);
    }

    [Fact]
    public void Valgrind_banner_and_message_lines_are_skipped()
    {
        var records = Read("==10971== Lackey, an example Valgrind tool\n--10971-- WARNING: something\n L 10,4\n==10971== \n");
        Assert.Equal([new AccessRecord(RecordKind.Load, 0x10, 4)], records);
    }

    [Theory]
    [InlineData(" X 10,4", "expected 'I', 'L', 'S' or 'M'")]
    [InlineData(" L 10g,4", "not hexadecimal")]
    [InlineData(" L 10", "expected")]
    [InlineData(" L 10,", "expected")]
    [InlineData(" L 10,0", "size is 0")]
    [InlineData(" L 10,4x", "size is not a decimal number")]
    [InlineData(" L 11112222333344445,4", "more than 64 bits")]
    [InlineData("L10,4", "expected")]
    public void A_malformed_line_names_the_file_and_its_line(string bad, string problem)
    {
        var e = Assert.Throws<ImportFormatException>(() => Read($" L 10,4\n\n{bad}\n S 20,4\n", "my.trace"));
        Assert.StartsWith("my.trace:3: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Skip_bad_counts_malformed_lines_and_keeps_going()
    {
        using var reader = Reader(" L 10,4\ngarbage\n S 20,4\n L zz,4\n" + new string('x', 10_000) + "\n M 30,8\n", skipBad: true);
        var records = Drain(reader);
        Assert.Equal(3, records.Count);
        Assert.Equal(3, reader.BadLines);
        Assert.Equal(6, reader.Line);
    }

    [Fact]
    public void A_line_longer_than_the_limit_is_malformed()
    {
        var e = Assert.Throws<ImportFormatException>(() => Read(" L 10,4\n L " + new string('1', LackeyReader.MaxLineBytes) + ",4\n"));
        Assert.Contains(":2: line longer than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lines_spanning_buffer_refills_parse_whole()
    {
        // 300,000 lines of 13-15 bytes cross the 256 KiB buffer boundary many times.
        var sb = new StringBuilder();
        for (int i = 0; i < 300_000; i++)
        {
            sb.Append(" S ").Append((i * 8).ToString("x", null)).Append(",8\n");
        }

        var records = Read(sb.ToString());
        Assert.Equal(300_000, records.Count);
        Assert.Equal(299_999UL * 8, records[^1].Address);
    }

    internal static (long, long, long, long) Count(LackeyReader reader)
    {
        long i = 0, l = 0, s = 0, m = 0;
        while (reader.TryRead(out var r))
        {
            _ = r.Kind switch
            {
                RecordKind.Fetch => i++,
                RecordKind.Load => l++,
                RecordKind.Store => s++,
                _ => m++,
            };
        }

        return (i, l, s, m);
    }

    private static List<AccessRecord> Read(string text, string name = "test.trace")
    {
        using var reader = Reader(text, name: name);
        return Drain(reader);
    }

    private static LackeyReader Reader(string text, bool skipBad = false, string name = "test.trace") =>
        new(new MemoryStream(Encoding.ASCII.GetBytes(text)), name, skipBad);

    private static List<AccessRecord> Drain(LackeyReader reader)
    {
        var list = new List<AccessRecord>();
        while (reader.TryRead(out var r))
        {
            list.Add(r);
        }

        return list;
    }
}
