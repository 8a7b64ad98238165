using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Parquet;
using Parquet.Meta;
using Replay.Tests.Trace;
using Xunit.Abstractions;

namespace Replay.Tests.Cli;

/// <summary>
/// Mutates valid inputs for a fixed budget with a fixed seed (issue 15) and runs the real command on each: truncated
/// traces, bit flips in page headers and in the footer's structure, footer counts and offsets changed; profiles with keys
/// removed, numbers made absurd, keys repeated, text cut; gzip and zip inputs cut and flipped. Every run must end in
/// exit 0 (for a trace: with counts identical to the clean input's) or exit 1 with one sentence naming the file:
/// never a crash, a hang, an internal error, or a changed report folder. Bit flips also land in data pages, which this
/// project's writer protects with page CRCs (<see cref="Replay.Analysis.ParquetIO.PageCrcs"/>), so each must be refused naming the
/// column and row group, and in the footer's key-value strings, which <c>replay.metadata.crc32</c> protects.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 15;
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);
    private static readonly double[] Absurd = [1e308, 2147483648.0, 1e12, 0.5];
    private readonly TempDir _dir = Cli.Temp();
    private readonly Tally _tally = new();
    private readonly SortedDictionary<string, Tally> _byKind = new(StringComparer.Ordinal);
    private string _lastError = "";

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Mutated_traces_profiles_and_importer_inputs_never_crash_hang_or_lie()
    {
        var random = new Random(Seed);
        string trace = _dir.File("clean.pq");
        Assert.Equal(0, (await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "3000", "--seed", "3")).Code);
        string clean = Counts((await Cli.RunAsync(trace, "--engine", "all", "--json", "--out", _dir.File("clean-report"))).Out);

        byte[] bytes = await File.ReadAllBytesAsync(trace);
        int footerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 8));
        var pages = await PageOffsetsAsync(trace);
        var bodies = PageBodies(bytes, pages);
        var strings = await MetadataStringsAsync(trace, bytes, footerLength);
        for (int i = 0; i < 72; i++)
        {
            (string kind, byte[] mutant) = (i % 6) switch
            {
                0 => ("truncated", bytes[..random.Next(0, bytes.Length)]),
                1 => ("page header flip", Flip(bytes, pages[random.Next(pages.Count)] + random.Next(0, 12), random)),
                2 => ("footer flip", Flip(bytes, bytes.Length - 8 - footerLength + random.Next(0, Math.Min(footerLength, 160)), random)),
                3 => ("data page flip", Flip(bytes, Within(bodies[random.Next(bodies.Count)], random), random)),
                4 => ("metadata string flip", Flip(bytes, Within(strings[random.Next(strings.Count)], random), random)),
                _ => ("footer edit", await EditFooterAsync(trace, random)),
            };
            string path = _dir.File($"mutant-{i}.pq");
            await File.WriteAllBytesAsync(path, mutant);
            await ExpectCleanOrRefusedAsync(kind, path, [path, "--engine", "all", "--json"], ok => Assert.Equal(clean, Counts(ok)));
            output.WriteLine($"  mutant {i} ({kind}, sha256 {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(mutant))[..12]}): {(_lastError.Length == 0 ? "clean" : _lastError)}");

            // The same file, the same verdict: run again in this process (pooled buffers now hold the last run's bytes).
            var again = await Cli.RunAsync(path, "--engine", "all", "--json");
            Assert.Equal(_lastError, again.Code == 0 ? "" : again.Err.Trim());
            if (kind == "data page flip")
            {
                // now CRC-protected: never replayed, refused naming the column, row group and page
                Assert.Matches(@"^replay: .*mutant-\d+\.pq.*column '[a-z]+'.*row group \d+: the page at byte \d+ fails its CRC-32 check", _lastError);
            }
        }

        string profile = Analysis.Costs.ProfileCatalog.Resolve("skylake").Json;
        for (int i = 0; i < 24; i++)
        {
            string path = _dir.File($"profile-{i}.json");
            await File.WriteAllTextAsync(path, MutateProfile(profile, random));
            await ExpectCleanOrRefusedAsync("profile", path, [trace, "--engine", "shadow-cached", "--profile", path], _ => { });
        }

        string lackey = _dir.File("lackey.gz");
        await File.WriteAllBytesAsync(lackey, GzipLackey(4000));
        byte[] gz = await File.ReadAllBytesAsync(lackey);
        for (int i = 0; i < 16; i++)
        {
            string path = _dir.File($"lackey-{i}.gz");
            await File.WriteAllBytesAsync(path, i % 2 == 0 ? gz[..random.Next(0, gz.Length)] : Flip(gz, random.Next(10, gz.Length - 8), random));
            await ExpectImportCleanOrRefusedAsync(path, ["import", "lackey", path, "-o", path + ".pq"], path + ".pq");
        }

        output.WriteLine($"fuzz (seed {Seed}): {_tally}");
        foreach (var (kind, t) in _byKind)
        {
            output.WriteLine($"  {kind}: {t}");
        }

        Assert.Equal(0, _tally.Crashed + _tally.Hung);
    }

    [Fact]
    public async Task A_footer_that_calls_the_time_column_unsigned_replays_as_the_trace_itself_every_time()
    {
        // Found by the fuzz run above (a bit flip that turned the time column's IntType isSigned into another field):
        // the REQUIRED column of another type went through Parquet.Net into nullable memory, which left rows null from
        // row 1952 on in most runs in one process and in none in another. It now reads as what it is, every time.
        string trace = _dir.File("clean.pq");
        Assert.Equal(0, (await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "3000", "--seed", "3")).Code);
        string clean = Counts((await Cli.RunAsync(trace, "--engine", "all", "--json")).Out);
        string unsigned = _dir.File("unsigned-time.pq");
        await File.WriteAllBytesAsync(unsigned, await Trace.FooterSurgery.RewriteAsync(trace, meta =>
            meta.Schema.Single(e => e.Name == "time").LogicalType!.INTEGER!.IsSigned = false));

        for (int run = 0; run < 8; run++)
        {
            var (code, stdout, stderr) = await Cli.RunAsync(unsigned, "--engine", "all", "--json");
            Assert.True(code == 0, $"run {run}: {stderr}");
            Assert.Equal(clean, Counts(stdout));
        }
    }

    private sealed class Tally
    {
        public int Tried, Clean, Refused, Crashed, Hung;

        public override string ToString() => $"{Tried} tried, {Clean} ran clean, {Refused} refused with one sentence, {Crashed} crashed, {Hung} hung";
    }

    /// <summary>Runs <paramref name="args"/> into a report folder holding an earlier report; checks the outcome rules.</summary>
    private async Task ExpectCleanOrRefusedAsync(string kind, string named, string[] args, Action<string> onSuccess)
    {
        string reports = _dir.File("reports");
        if (!Directory.Exists(reports))
        {
            Assert.Equal(0, (await Cli.RunAsync(_dir.File("clean.pq"), "--engine", "native", "--out", reports)).Code);
        }

        var before = Cli.Snapshot(reports);
        var (code, stdout, stderr) = await RunWithinAsync(kind, named, [.. args, "--out", reports]);
        if (code == 0)
        {
            onSuccess(stdout);
            return;
        }

        Assert.Equal(before, Cli.Snapshot(reports));
    }

    private async Task ExpectImportCleanOrRefusedAsync(string named, string[] args, string outputFile)
    {
        var (code, _, _) = await RunWithinAsync("import", named, args);
        Assert.Equal(code == 0, File.Exists(outputFile));
    }

    /// <summary>Runs the command with a hang limit and tallies it; fails on anything but exit 0 or a clean exit 1.</summary>
    private async Task<(int Code, string Out, string Err)> RunWithinAsync(string kind, string named, string[] args)
    {
        Tally byKind = _byKind.TryGetValue(kind, out var t) ? t : _byKind[kind] = new Tally();
        _tally.Tried++;
        byKind.Tried++;
        _lastError = "";
        (int Code, string Out, string Err) result;
        try
        {
            result = await Cli.RunAsync(args).WaitAsync(Hang);
        }
        catch (TimeoutException)
        {
            _tally.Hung++;
            byKind.Hung++;
            Assert.Fail($"{kind}: '{named}' did not finish in {Hang.TotalSeconds} s");
            throw;
        }

        if (result.Code == 0)
        {
            _tally.Clean++;
            byKind.Clean++;
            return result;
        }

        string[] lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        bool oneSentence = result.Code == 1 && lines.Length == 1 && lines[0].StartsWith("replay: ", StringComparison.Ordinal)
            && !lines[0].Contains("unexpected error", StringComparison.Ordinal) && lines[0].Contains(Path.GetFileName(named), StringComparison.Ordinal);
        if (!oneSentence)
        {
            _tally.Crashed++;
            byKind.Crashed++;
            Assert.Fail($"{kind}: '{named}' exited {result.Code} with: {result.Err}");
        }

        _tally.Refused++;
        byKind.Refused++;
        _lastError = lines[0];
        return result;
    }

    /// <summary>The JSON summary without the file's name and hash and the two columns that are rates of this run, not counts.</summary>
    private static string Counts(string json)
    {
        var rows = JsonNode.Parse(json)!.AsArray();
        foreach (JsonNode? row in rows)
        {
            row!.AsObject().Remove("trace");
            row.AsObject().Remove("trace_sha256");
            row.AsObject().Remove("replay_seconds");
            row.AsObject().Remove("events_per_second");
        }

        return rows.ToJsonString();
    }

    private static byte[] Flip(byte[] bytes, int at, Random random)
    {
        byte[] copy = (byte[])bytes.Clone();
        copy[Math.Clamp(at, 0, copy.Length - 1)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    private static async Task<List<int>> PageOffsetsAsync(string trace)
    {
        await using ParquetReader reader = await ParquetReader.CreateAsync(trace);
        return reader.Metadata!.RowGroups.SelectMany(g => g.Columns).Select(c => (int)c.MetaData!.DataPageOffset).ToList();
    }

    /// <summary>Each page body's byte range (after its header), for the first page of every chunk.</summary>
    private static List<(int Start, int Length)> PageBodies(byte[] bytes, List<int> pages) => pages.Select(p =>
    {
        int header = Replay.Analysis.ParquetIO.ThriftPageHeader.Parse(bytes.AsSpan(p), out var page);
        return (p + header, page.CompressedSize);
    }).ToList();

    /// <summary>
    /// Where each key and value of the footer's key-value metadata lies in the file: found as its Thrift encoding, a
    /// <c>KeyValue</c> struct's field 1 (binary: header byte 0x18, length varint, UTF-8) followed by its field 2.
    /// </summary>
    private static async Task<List<(int Start, int Length)>> MetadataStringsAsync(string trace, byte[] bytes, int footerLength)
    {
        static byte[] Field(string text)
        {
            byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(text);
            var encoded = new List<byte> { 0x18 };
            for (uint n = (uint)utf8.Length; ; n >>= 7)
            {
                encoded.Add((byte)(n < 0x80 ? n : (n & 0x7F) | 0x80));
                if (n < 0x80)
                {
                    break;
                }
            }

            return [.. encoded, .. utf8];
        }

        int footer = bytes.Length - 8 - footerLength;
        await using ParquetReader reader = await ParquetReader.CreateAsync(trace);
        var ranges = new List<(int, int)>();
        foreach (var (key, value) in reader.CustomMetadata)
        {
            byte[] k = Field(key);
            byte[] v = Field(value);
            int at = bytes.AsSpan(footer, footerLength).IndexOf([.. k, .. v]);
            Assert.True(at >= 0, key);
            int keyBytes = System.Text.Encoding.UTF8.GetByteCount(key);
            int valueBytes = System.Text.Encoding.UTF8.GetByteCount(value);
            ranges.Add((footer + at + k.Length - keyBytes, keyBytes));
            if (valueBytes > 0)
            {
                ranges.Add((footer + at + k.Length + v.Length - valueBytes, valueBytes));
            }
        }

        return ranges;
    }

    private static int Within((int Start, int Length) range, Random random) => range.Start + random.Next(range.Length);

    /// <summary>One count or offset of the footer changed by a small or a large amount.</summary>
    private static async Task<byte[]> EditFooterAsync(string trace, Random random)
    {
        long delta = random.Next(2) == 0 ? random.Next(1, 9) : (long)random.Next(1, int.MaxValue) << random.Next(0, 8);
        delta *= random.Next(2) == 0 ? 1 : -1;
        int field = random.Next(5);
        return await FooterSurgery.RewriteAsync(trace, meta =>
        {
            RowGroup g = meta.RowGroups[random.Next(meta.RowGroups.Count)];
            ColumnMetaData c = g.Columns[random.Next(g.Columns.Count)].MetaData!;
            switch (field)
            {
                case 0: g.NumRows += delta; break;
                case 1: c.NumValues += delta; break;
                case 2: c.DataPageOffset += delta; break;
                case 3: c.TotalCompressedSize += delta; break;
                default: g.NumRows += delta; g.Columns.ForEach(x => x.MetaData!.NumValues += delta); break;
            }
        });
    }

    private static string MutateProfile(string json, Random random)
    {
        if (random.Next(6) == 0)
        {
            return json[..random.Next(json.Length)];
        }

        JsonObject root = JsonNode.Parse(json)!.AsObject();
        var numbers = new List<(JsonObject Parent, string Key)>();
        Collect(root, numbers);
        var (parent, key) = numbers[random.Next(numbers.Count)];
        switch (random.Next(5))
        {
            case 0: parent.Remove(key); break;
            case 1: parent[key] = -1; break;
            case 2: parent[key] = JsonValue.Create(Absurd[random.Next(Absurd.Length)]); break;
            case 3: parent[key] = "many"; break;
            default:
                string text = root.ToJsonString();
                return text.Replace($"\"{key}\":", $"\"{key}\":1,\"{key}\":", StringComparison.Ordinal);
        }

        return root.ToJsonString();
    }

    private static void Collect(JsonObject obj, List<(JsonObject, string)> numbers)
    {
        foreach (var (key, value) in obj)
        {
            if (value is JsonObject child)
            {
                Collect(child, numbers);
            }
            else if (value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number)
            {
                numbers.Add((obj, key));
            }
        }
    }

    private static byte[] GzipLackey(int lines)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            for (int i = 0; i < lines; i++)
            {
                gz.Write(System.Text.Encoding.ASCII.GetBytes($"{(i % 3 == 0 ? "I " : " L")} {0x400000 + (i * 24):x},4\n"));
            }
        }

        return buffer.ToArray();
    }

}
