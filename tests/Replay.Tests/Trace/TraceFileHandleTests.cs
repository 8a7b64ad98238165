using System.Security.Cryptography;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>
/// How many times a trace is opened and its footer parsed to be read (once, issue 16: one handle and one parsed footer
/// shared by every column, whichever path reads it), and the hash read through the reader's own handle.
/// </summary>
public sealed class TraceFileHandleTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task A_trace_the_writer_wrote_is_open_once_while_every_column_of_every_group_is_read()
    {
        Assert.True(OperatingSystem.IsLinux(), "counts the process's descriptors in /proc/self/fd (Linux only, like CI)");
        // Every op with every field set, insns and time included: all nine columns, 3 row groups. TraceWriter writes
        // REQUIRED PLAIN chunks, so each is read directly through the one handle.
        var b = new EventBatch(3000);
        for (int i = 0; i < 3000; i++)
        {
            b.Add(TraceOp.Read, va: (ulong)i * 64, pa: 7, value: 9, vcpu: i % 2, user: i % 3 == 0, width: 4, time: i, insns: (uint)i);
        }

        string path = await _files.WriteAsync("all.pq", b, new TraceInfo { Vcpus = 2 }, hasTime: true, rowGroupSize: 1000);
        Assert.Equal(0, OpenDescriptorsOf(path));

        await using (var reader = await TraceReader.OpenAsync(path))
        {
            var batch = new EventBatch(0);
            long sum = 0;
            while (await reader.ReadNextAsync(batch))
            {
                sum += batch.Insns.AsSpan(0, batch.Count).ToArray().Sum(x => (long)x) + batch.Time.AsSpan(0, batch.Count).ToArray().Sum();
                Assert.Equal(1, OpenDescriptorsOf(path));
            }

            Assert.Equal(2L * (2999L * 3000 / 2), sum);
        }

        Assert.Equal(0, OpenDescriptorsOf(path));
        Assert.Equal((1, 1), ParquetFile.Counts(path)); // opens, footer parses
    }

    [Fact]
    public async Task Columns_the_direct_path_declines_are_read_by_parquet_net_on_the_same_open_file_and_parsed_footer()
    {
        Assert.True(OperatingSystem.IsLinux(), "counts the process's descriptors in /proc/self/fd (Linux only, like CI)");
        // DuckDB writes every column OPTIONAL (nullable), which Parquet.Net decodes, the columns of a group in parallel,
        // each at its own position in the one file; several row groups, vcpu from the data.
        string path = await _files.DuckAsync("duck.pq",
            "SELECT (i % 3)::UTINYINT AS op, (i % 2)::USMALLINT AS vcpu, (4096 + i * 8)::UBIGINT AS va, CASE WHEN i % 7 = 0 THEN NULL ELSE i END::UBIGINT AS value FROM range(5000) t(i)",
            "COMPRESSION snappy, ROW_GROUP_SIZE 2000");

        await using (var reader = await TraceReader.OpenAsync(path))
        {
            Assert.Equal(2, reader.Info.Vcpus);
            var batch = new EventBatch(0);
            long rows = 0, va = 0, value = 0;
            while (await reader.ReadNextAsync(batch))
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    long row = batch.FirstRow + i;
                    Assert.Equal(((byte)(row % 3), (ushort)(row % 2)), (batch.Op[i], batch.Vcpu[i]));
                    va += (long)batch.Va[i];
                    value += (long)batch.Value[i];
                }

                rows += batch.Count;
                Assert.Equal(1, OpenDescriptorsOf(path));
            }

            // sum of 4096 + 8i over 5000 rows; sum of i over rows not divisible by 7 (nulls read as 0)
            Assert.Equal((5000L, (5000L * 4096) + (8L * 4999 * 5000 / 2), (4999L * 5000 / 2) - (7L * 714 * 715 / 2)), (rows, va, value));
        }

        Assert.Equal(0, OpenDescriptorsOf(path));
        Assert.Equal((1, 1), ParquetFile.Counts(path));
    }

    [Fact]
    public async Task A_run_of_the_command_line_opens_the_trace_once_and_parses_its_footer_once()
    {
        // The whole of `replay run`: metadata, the hash, the replay of every engine, and inspect's own read.
        string duck = await _files.DuckAsync("cli.pq",
            "SELECT (i % 2)::UTINYINT AS op, (4096 + (i % 64) * 4096)::UBIGINT AS va FROM range(3000) t(i)");
        var (code, _, err) = await Replay.Tests.Cli.Cli.RunAsync(duck, "--engine", "native", "--out", _files.PathOf("reports"));
        Assert.True(code == 0, err);
        Assert.Equal((1, 1), ParquetFile.Counts(duck));

        (code, _, err) = await Replay.Tests.Cli.Cli.RunAsync("inspect", duck);
        Assert.True(code == 0, err);
        Assert.Equal((2, 2), ParquetFile.Counts(duck));
    }

    [Fact]
    public async Task The_readers_hash_is_the_files_sha256()
    {
        // 100,000 writes of seeded random values (which compress to nothing less): about 1.6 MB, two buffers.
        var random = new Random(1);
        var b = new EventBatch(100_000);
        for (int i = 0; i < 100_000; i++)
        {
            b.Add(TraceOp.Write, va: (ulong)random.NextInt64() & ~7UL, value: (ulong)random.NextInt64());
        }

        string path = await _files.WriteAsync("hash.pq", b, rowGroupSize: 10_000);
        Assert.True(new FileInfo(path).Length > 1 << 20, "more than one buffer of the hash's reads"); // the loop is exercised

        await using var reader = await TraceReader.OpenAsync(path);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(path))), reader.Sha256());
    }

    /// <summary>The process's open descriptors on <paramref name="path"/>.</summary>
    internal static int OpenDescriptorsOf(string path)
    {
        string full = Path.GetFullPath(path);
        int n = 0;
        foreach (string fd in Directory.EnumerateFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget == full)
                {
                    n++;
                }
            }
            catch (IOException)
            {
                // closed while we looked
            }
        }

        return n;
    }
}
