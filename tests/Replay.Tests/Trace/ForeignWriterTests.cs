using Replay.Engines.Trace;

namespace Replay.Tests.Trace;

/// <summary>
/// Traces from another tool (here DuckDB, which writes OPTIONAL columns, dictionary pages and its own choice
/// of types) load as SPEC §1 promises: any integer type that holds the values, extra columns ignored,
/// absent optional columns defaulted.
/// </summary>
public sealed class ForeignWriterTests : IDisposable
{
    // Eight rows: every column set, repeated values (so DuckDB dictionary-encodes), unsigned logical types.
    private const string Typed = """
        SELECT * FROM (VALUES
            (0::UTINYINT, 1::USMALLINT, 4096::UBIGINT, 0::UBIGINT, 0::UBIGINT, true, 8::UTINYINT),
            (1, 1, 4096, 0, 0, true, 8),
            (2, 0, 18446744073709551615, 0, 0, false, 8),
            (3, 0, 0, 0, 8192, false, 8),
            (4, 1, 0, 12288, 103, false, 2),
            (4, 1, 0, 12288, 103, false, 2),
            (7, 0, 0, 16384, 7, false, 8),
            (8, 0, 0, 0, 1, false, 8)
        ) t(op, vcpu, va, pa, "value", "user", width)
        """;

    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("COMPRESSION snappy")]
    [InlineData("COMPRESSION zstd")]
    [InlineData("COMPRESSION gzip")]
    [InlineData("COMPRESSION uncompressed")]
    public async Task Optional_unsigned_dictionary_columns_load_with_any_codec(string options)
    {
        string path = await _files.DuckAsync("typed.pq", Typed, options);

        EventBatch rows = (await TraceFiles.ReadAllAsync(path)).Rows;

        Assert.Equal([0, 1, 2, 3, 4, 4, 7, 8], rows.Op.Take(8).Select(o => (int)o));
        Assert.Equal([1, 1, 0, 0, 1, 1, 0, 0], rows.Vcpu.Take(8).Select(v => (int)v));
        Assert.Equal([4096UL, 4096, ulong.MaxValue, 0, 0, 0, 0, 0], rows.Va.Take(8));
        Assert.Equal([0UL, 0, 0, 0, 12288, 12288, 16384, 0], rows.Pa.Take(8));
        Assert.Equal([0UL, 0, 0, 8192, 103, 103, 7, 1], rows.Value.Take(8));
        Assert.Equal([true, true, false, false, false, false, false, false], rows.User.Take(8));
        Assert.Equal([8, 8, 8, 8, 2, 2, 8, 8], rows.Width.Take(8).Select(w => (int)w));
    }

    [Fact]
    public async Task Signed_types_an_integer_op_and_a_bigint_with_bit_63_set_are_reinterpreted()
    {
        string path = await _files.DuckAsync("signed.pq", """
            SELECT * FROM (VALUES (0::INTEGER, -1::BIGINT, 2::SMALLINT, 1::TINYINT, 4::BIGINT),
                                  (1, 8, 0, 0, 1)) t(op, va, vcpu, "user", width)
            """);

        EventBatch rows = (await TraceFiles.ReadAllAsync(path)).Rows;

        Assert.Equal(0xFFFF_FFFF_FFFF_FFFFUL, rows.Va[0]);
        Assert.Equal((2, true, 4), (rows.Vcpu[0], rows.User[0], rows.Width[0]));
        Assert.Equal((1, 8UL, 1), (rows.Op[1], rows.Va[1], rows.Width[1]));
    }

    [Fact]
    public async Task A_negative_int32_va_is_reinterpreted_at_its_stored_width()
    {
        string path = await _files.DuckAsync("int32va.pq", "SELECT 0::UTINYINT AS op, -4096::INTEGER AS va");

        EventBatch rows = (await TraceFiles.ReadAllAsync(path)).Rows;

        Assert.Equal(0xFFFF_F000UL, rows.Va[0]);
    }

    [Fact]
    public async Task Extra_columns_are_ignored_and_column_order_does_not_matter()
    {
        string path = await _files.DuckAsync("extra.pq", """
            SELECT 'hello' AS comment, 8192::UBIGINT AS va, 3.5::DOUBLE AS score, 1::UTINYINT AS op, 2::USMALLINT AS vcpu
            """);

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.Equal((1, 8192UL, 2), (back.Rows.Op[0], back.Rows.Va[0], back.Rows.Vcpu[0]));
        Assert.Equal(3, back.Info.Vcpus);
    }

    [Fact]
    public async Task Absent_optional_columns_take_their_defaults()
    {
        string path = await _files.DuckAsync("bare.pq", """
            SELECT * FROM (VALUES (0::UTINYINT, 4096::UBIGINT, NULL::UBIGINT, NULL::UBIGINT),
                                  (4, NULL, 8192, 5)) t(op, va, pa, "value")
            """);

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.False(back.HasTime);
        Assert.Equal([0, 0], back.Rows.Vcpu.Take(2).Select(v => (int)v));
        Assert.Equal([false, false], back.Rows.User.Take(2));
        Assert.Equal([8, 8], back.Rows.Width.Take(2).Select(w => (int)w));
        Assert.Equal((0UL, 8192UL, 5UL), (back.Rows.Va[1], back.Rows.Pa[1], back.Rows.Value[1]));
    }

    [Fact]
    public async Task Nulls_in_optional_columns_take_their_defaults()
    {
        string path = await _files.DuckAsync("nulls.pq", """
            SELECT * FROM (VALUES (0::UTINYINT, 4096::UBIGINT, 1::USMALLINT, true, 2::UTINYINT),
                                  (0, 8192, NULL, NULL, NULL)) t(op, va, vcpu, "user", width)
            """);

        EventBatch rows = (await TraceFiles.ReadAllAsync(path)).Rows;

        Assert.Equal((1, true, 2), (rows.Vcpu[0], rows.User[0], rows.Width[0]));
        Assert.Equal((0, false, 8), (rows.Vcpu[1], rows.User[1], rows.Width[1]));
    }

    [Fact]
    public async Task A_time_column_of_any_integer_type_is_read()
    {
        string path = await _files.DuckAsync("time.pq", "SELECT * FROM (VALUES (0::UTINYINT, 1::UBIGINT, 10::UINTEGER), (0, 2, 20)) t(op, va, time)");

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.True(back.HasTime);
        Assert.Equal([10L, 20L], back.Rows.Time.Take(2));
    }

    [Fact]
    public async Task Several_duckdb_row_groups_come_back_in_order_with_their_first_rows()
    {
        string path = await _files.DuckAsync("rowgroups.pq",
            "SELECT (i % 3)::UTINYINT AS op, (i * 8)::UBIGINT AS va, (i % 2)::USMALLINT AS vcpu FROM range(5000) t(i)",
            "COMPRESSION zstd, ROW_GROUP_SIZE 2048");

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.True(back.RowGroupCount > 1);
        Assert.Equal(0, back.FirstRows[0]);
        Assert.Equal(5000, back.RowCount);
        Assert.Equal(Enumerable.Range(0, 5000).Select(i => (ulong)i * 8), back.Rows.Va.Take(5000));
        Assert.Equal(2, back.Info.Vcpus);
    }

    [Fact]
    public async Task Duckdb_v2_pages_with_delta_and_dictionary_encodings_load()
    {
        string path = _files.PathOf("required.pq");
        using (var connection = new DuckDB.NET.Data.DuckDBConnection("Data Source=:memory:"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                CREATE TABLE t (op UTINYINT, va UBIGINT, vcpu USMALLINT, "user" BOOLEAN);
                INSERT INTO t SELECT (i % 3), (i * 4096 + 1), (i % 5), (i % 7 = 0) FROM range(3000) r(i);
                COPY t TO '{path}' (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 2048);
                """;
            await command.ExecuteNonQueryAsync();
        }

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.Equal(Enumerable.Range(0, 3000).Select(i => (ulong)i * 4096 + 1), back.Rows.Va.Take(3000));
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => (ushort)(i % 5)), back.Rows.Vcpu.Take(3000));
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => i % 7 == 0), back.Rows.User.Take(3000));
        Assert.Equal(5, back.Info.Vcpus);
    }
}
