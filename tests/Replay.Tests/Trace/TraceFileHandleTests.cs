using System.Security.Cryptography;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>How many times a trace is opened to be read, and the hash read through the reader's own handle.</summary>
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
    }

    [Fact]
    public async Task A_column_the_direct_path_declines_is_read_on_a_reader_of_its_own_and_closed_with_the_trace()
    {
        Assert.True(OperatingSystem.IsLinux(), "counts the process's descriptors in /proc/self/fd (Linux only, like CI)");
        // DuckDB writes op and va as OPTIONAL columns (nullable), which Parquet.Net reads: one more descriptor for each.
        string path = await _files.DuckAsync("duck.pq",
            "SELECT (i % 3)::UTINYINT AS op, (4096 + i * 8)::UBIGINT AS va FROM range(5000) t(i)");

        await using (var reader = await TraceReader.OpenAsync(path))
        {
            var batch = new EventBatch(0);
            Assert.True(await reader.ReadNextAsync(batch));
            Assert.Equal((5000, 4096UL + (4999 * 8)), (batch.Count, batch.Va[4999]));
            Assert.Equal(3, OpenDescriptorsOf(path));
        }

        Assert.Equal(0, OpenDescriptorsOf(path));
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
