using System.IO.Compression;
using Replay.Import;
using Replay.Tests.Cli;

namespace Replay.Tests.Import;

/// <summary>
/// Compressed inputs are checked as <c>gzip -t</c> and <c>unzip -t</c> check them (issue 15, item 4): before, a
/// gzip cut in half imported half its records and exited 0, and a zip member's CRC-32 was never compared.
/// </summary>
public sealed class CompressedIntegrityTests : IDisposable
{
    private readonly TempDir _dir = Cli.Cli.Temp();

    public void Dispose() => _dir.Dispose();

    private static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(System.Text.Encoding.ASCII.GetBytes(text));
        }

        return output.ToArray();
    }

    private static string Lines(int n) => string.Concat(Enumerable.Range(0, n).Select(i => $" L {0x1000 + (i * 64):x},8\n"));

    private string Write(string name, byte[] bytes)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static long ReadAll(string path)
    {
        using var reader = LackeyReader.Open(path);
        long n = 0;
        while (reader.TryRead(out _))
        {
            n++;
        }

        return n;
    }

    [Fact]
    public void A_whole_gzip_reads_every_record()
    {
        Assert.Equal(5000, ReadAll(Write("whole.gz", Gzip(Lines(5000)))));
    }

    [Fact]
    public void Two_concatenated_gzip_members_read_as_one_and_pass()
    {
        Assert.Equal(300, ReadAll(Write("two.gz", [.. Gzip(Lines(100)), .. Gzip(Lines(200))])));
    }

    [Theory]
    [InlineData("half")]
    [InlineData("no-trailer")]
    [InlineData("header-only")]
    [InlineData("garbage-after")]
    public void A_damaged_gzip_is_one_sentence_naming_the_file(string damage)
    {
        byte[] good = Gzip(Lines(20_000));
        byte[] bad = damage switch
        {
            "half" => good[..(good.Length / 2)],
            "no-trailer" => good[..^8],
            "header-only" => good[..18],
            _ => [.. good, .. "trailing garbage"u8.ToArray()],
        };
        string path = Write(damage + ".gz", bad);

        var e = Assert.Throws<ImportFormatException>(() => ReadAll(path));

        Assert.StartsWith($"{path}: the gzip data is ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith(".", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gzip_cut_in_half_fails_the_import_command_and_leaves_no_output()
    {
        string path = Write("cut.gz", Gzip(Lines(20_000))[..5000]);
        string output = _dir.File("cut.pq");

        var (code, _, err) = await Cli.Cli.RunAsync("import", "lackey", path, "-o", output);

        Assert.Equal(1, code);
        Assert.Contains($"{path}: the gzip data is truncated or corrupt", err, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void A_zip_member_whose_data_fails_its_crc_is_named()
    {
        string path = _dir.File("flipped.zip");
        byte[] records = DrZip.Pack([new(25, 0, 5), DrZip.Thread(1), DrZip.Pid(1), DrZip.Read(0x1000, 8), DrZip.Read(0x2000, 8)]);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using Stream s = zip.CreateEntry("chunk.0000", CompressionLevel.NoCompression).Open();
            s.Write(records);
        }

        // Stored, not deflated: flip one bit of the last record's address, inside the member's data.
        byte[] bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf(records.AsSpan(records.Length - 12, 12)) + 6;
        bytes[at] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        using var file = new DrMemTraceFile(path);
        var e = Assert.Throws<ImportFormatException>(() =>
        {
            while (file.TryRead(out _))
            {
            }
        });

        Assert.StartsWith($"{path}:chunk.0000: fails its CRC-32 check (the zip directory says ", e.Message, StringComparison.Ordinal);
    }
}
