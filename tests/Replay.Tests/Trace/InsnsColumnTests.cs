using Parquet;
using Parquet.Schema;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>
/// The optional SPEC §1 <c>insns</c> column: written by <see cref="TraceWriter"/> as REQUIRED uint32, read from any
/// integer type REQUIRED or OPTIONAL (direct path and Parquet.Net fallback), 0 when absent or null, and a value
/// outside 0..uint32 max is an error naming the file, the trace row and the column.
/// </summary>
public sealed class InsnsColumnTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Insns_round_trip_through_writer_and_reader_across_row_groups()
    {
        // 2500 reads in row groups of 1000, so the reader's fast path decodes three chunks of the column.
        var b = new EventBatch(2500);
        for (int i = 0; i < 2500; i++)
        {
            b.Add(TraceOp.Read, va: (ulong)i * 64, insns: i == 1999 ? uint.MaxValue : (uint)(i * 3));
        }

        string path = await _files.WriteAsync("insns.pq", b, rowGroupSize: 1000);

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.Equal(3, back.RowGroupCount);
        Assert.Equal(b.Insns.Take(2500), back.Rows.Insns.Take(2500));
        Assert.Equal(uint.MaxValue, back.Rows.Insns[1999]);
    }

    [Fact]
    public async Task A_trace_without_the_column_reads_0_even_into_a_batch_that_held_insns()
    {
        var b = new EventBatch(2);
        b.Add(TraceOp.Read, va: 4096, insns: 7);
        b.Add(TraceOp.Read, va: 8192, insns: 9);
        string with = await _files.WriteAsync("with.pq", b);
        string without = await _files.DuckAsync("without.pq", "SELECT * FROM (VALUES (0::UTINYINT, 4096::UBIGINT), (2, 8192)) t(op, va)");

        var batch = new EventBatch(0);
        await using (var reader = await TraceReader.OpenAsync(with))
        {
            Assert.True(await reader.ReadNextAsync(batch));
            Assert.Equal([7u, 9u], batch.Insns.Take(2));
        }

        await using (var reader = await TraceReader.OpenAsync(without))
        {
            Assert.True(await reader.ReadNextAsync(batch));
            Assert.Equal([0u, 0u], batch.Insns.Take(2));
        }
    }

    [Theory]
    [InlineData("UINTEGER")]
    [InlineData("INTEGER")]
    [InlineData("BIGINT")]
    [InlineData("UBIGINT")]
    [InlineData("USMALLINT")]
    public async Task An_optional_column_of_any_integer_type_reads_and_its_nulls_read_0(string type)
    {
        // DuckDB writes OPTIONAL columns (dictionary-encoded where values repeat).
        string path = await _files.DuckAsync($"duck-{type}.pq", $"""
            SELECT * FROM (VALUES (0::UTINYINT, 4096::UBIGINT, 5::{type}), (1, 4096, NULL), (2, 8192, 65535), (2, 8192, 5)) t(op, va, insns)
            """);

        EventBatch rows = (await TraceFiles.ReadAllAsync(path)).Rows;

        Assert.Equal([5u, 0u, 65535u, 5u], rows.Insns.Take(4));
    }

    [Fact]
    public async Task A_duckdb_ubigint_holds_uint32_max()
    {
        string path = await _files.DuckAsync("max.pq", "SELECT 2::UTINYINT AS op, 0::UBIGINT AS va, 4294967295::UBIGINT AS insns");

        Assert.Equal(uint.MaxValue, (await TraceFiles.ReadAllAsync(path)).Rows.Insns[0]);
    }

    public static TheoryData<string, bool> ParquetNetShapes() => new()
    {
        { "uint", false }, { "uint", true }, { "long", false }, { "long", true },
        { "int", false }, { "int", true }, { "ulong", false }, { "ulong", true },
    };

    [Theory]
    [MemberData(nameof(ParquetNetShapes))]
    public async Task Parquet_net_required_and_optional_columns_of_int32_int64_and_uint64_read(string type, bool optional)
    {
        // Row 1 is null when the column is OPTIONAL (and 0 when REQUIRED); row 2 is the largest value the type and uint32 share.
        long top = type == "int" ? int.MaxValue : uint.MaxValue;
        string path = await WriteParquetNetAsync($"pn-{type}-{optional}.pq", type, optional, [3, null, top, 0]);

        EventBatch rows = (await TraceFiles.ReadAllAsync(path)).Rows;

        Assert.Equal([3u, 0u, (uint)top, 0u], rows.Insns.Take(4));
    }

    [Theory]
    [InlineData("BIGINT", "-1")]
    [InlineData("INTEGER", "-7")]
    [InlineData("UBIGINT", "4294967296")]
    [InlineData("BIGINT", "9000000000")]
    public async Task A_negative_or_too_large_count_names_the_file_the_row_and_the_column(string type, string bad)
    {
        // 5000 rows in row groups of 2048: row 4500 is in the third group, so the row named is the trace's, not the group's.
        string path = await _files.DuckAsync($"bad-{type}-{bad}.pq",
            $"SELECT 0::UTINYINT AS op, i::UBIGINT AS va, (CASE WHEN i = 4500 THEN {bad} ELSE i END)::{type} AS insns FROM range(5000) t(i)",
            "COMPRESSION snappy, ROW_GROUP_SIZE 2048");

        var e = await ReadFailsAsync(path);

        Assert.Equal($"{path}: row 4500, column 'insns': {bad} does not fit in uint32 (an instruction count, 0 to 4294967295).", e.Message);
        Assert.Equal((4500L, "insns"), (e.Row, e.Column));
    }

    [Fact]
    public async Task A_parquet_net_negative_int64_fails_like_a_duckdb_one()
    {
        string path = await WriteParquetNetAsync("pn-neg.pq", "long", optional: false, [1, 2, -3, 4]);

        var e = await ReadFailsAsync(path);

        Assert.Equal($"{path}: row 2, column 'insns': -3 does not fit in uint32 (an instruction count, 0 to 4294967295).", e.Message);
    }

    private static async Task<TraceFormatException> ReadFailsAsync(string path)
    {
        await using TraceReader reader = await TraceReader.OpenAsync(path);
        var batch = new EventBatch(0);
        return await Assert.ThrowsAsync<TraceFormatException>(async () =>
        {
            while (await reader.ReadNextAsync(batch))
            {
            }
        });
    }

    /// <summary>Four reads whose <c>insns</c> Parquet.Net writes as <paramref name="type"/>, REQUIRED or OPTIONAL (a null becomes 0 when REQUIRED).</summary>
    private async Task<string> WriteParquetNetAsync(string name, string type, bool optional, long?[] insns)
    {
        string path = _files.PathOf(name);
        var op = new DataField<byte>("op", false);
        var va = new DataField<ulong>("va", false);
        DataField field = type switch
        {
            "uint" => new DataField<uint>("insns", optional),
            "int" => new DataField<int>("insns", optional),
            "ulong" => new DataField<ulong>("insns", optional),
            _ => new DataField<long>("insns", optional),
        };
        await using (FileStream stream = File.Create(path))
        {
            await using ParquetWriter writer = await ParquetWriter.CreateAsync(new ParquetSchema(op, va, field), stream);
            using ParquetRowGroupWriter rg = writer.CreateRowGroup();
            await rg.WriteAsync(op, new ReadOnlyMemory<byte>(new byte[insns.Length]));
            await rg.WriteAsync(va, new ReadOnlyMemory<ulong>(new ulong[insns.Length]));
            await (type switch
            {
                "uint" => WriteAsync(rg, field, optional, insns.Select(v => (uint?)v).ToArray()),
                "int" => WriteAsync(rg, field, optional, insns.Select(v => (int?)v).ToArray()),
                "ulong" => WriteAsync(rg, field, optional, insns.Select(v => (ulong?)v).ToArray()),
                _ => WriteAsync(rg, field, optional, insns),
            });
            rg.CompleteValidate();
        }

        return path;
    }

    private static async Task WriteAsync<T>(ParquetRowGroupWriter rg, DataField field, bool optional, T?[] values)
        where T : struct
    {
        if (optional)
        {
            await rg.WriteAsync(field, new ReadOnlyMemory<T?>(values));
        }
        else
        {
            await rg.WriteAsync(field, new ReadOnlyMemory<T>(values.Select(v => v ?? default).ToArray()));
        }
    }
}
