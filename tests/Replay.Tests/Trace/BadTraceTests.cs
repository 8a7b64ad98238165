using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>
/// Every bad trace is one <see cref="TraceFormatException"/> sentence naming the file and, when the problem
/// is in the data, the 0-based row and the column.
/// </summary>
public sealed class BadTraceTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task A_missing_file_is_named()
    {
        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(_files.PathOf("nope.pq")));

        AssertOneSentence(e, "nope.pq", "no such file");
    }

    [Fact]
    public async Task A_text_file_is_not_parquet()
    {
        string path = _files.PathOf("text.pq");
        await File.WriteAllTextAsync(path, "op,va\n0,4096\n1,8192\n");

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        AssertOneSentence(e, "text.pq", "not a Parquet file");
    }

    [Fact]
    public async Task The_first_half_of_a_good_trace_is_truncated()
    {
        string good = await _files.WriteAsync("good.pq", Reads(5000));
        byte[] bytes = await File.ReadAllBytesAsync(good);
        string path = _files.PathOf("cut.pq");
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        AssertOneSentence(e, "cut.pq", "truncated");
    }

    [Fact]
    public async Task A_fifo_is_refused_without_blocking_on_its_open()
    {
        string path = _files.PathOf("fifo.pq");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]))
        {
            await mkfifo.WaitForExitAsync();
        }

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal($"{path}: not a Parquet file (it is empty, or a FIFO, device or socket: copy such a stream to a file first).", e.Message);
    }

    [Fact]
    public async Task A_folder_is_not_a_trace()
    {
        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(Path.GetTempPath()));

        Assert.EndsWith(": a folder, not a trace file.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_footer_keeps_the_library_error_inside()
    {
        string good = await _files.WriteAsync("good.pq", Reads(100));
        byte[] bytes = await File.ReadAllBytesAsync(good);
        bytes.AsSpan(bytes.Length - 200, 190).Fill(0xFF);
        string path = _files.PathOf("damaged.pq");
        await File.WriteAllBytesAsync(path, bytes);

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        AssertOneSentence(e, "damaged.pq", "damaged");
        Assert.NotNull(e.InnerException);
    }

    [Fact]
    public async Task A_damaged_page_names_the_column_and_its_rows()
    {
        var b = Reads(5000);
        for (int i = 0; i < 5000; i++)
        {
            b.Va[i] = (ulong)i * 0x9E37_79B9_7F4A_7C15UL;
        }

        string good = await _files.WriteAsync("good.pq", b);
        long vaPage;
        await using (var parquet = await Parquet.ParquetReader.CreateAsync(good))
        {
            using var rg = parquet.OpenRowGroupReader(0);
            vaPage = rg.GetMetadata(parquet.Schema.GetDataFields()[2])!.MetaData!.DataPageOffset;
        }

        // Damage the page header, which the reader walks before it decodes anything.
        byte[] bytes = await File.ReadAllBytesAsync(good);
        bytes.AsSpan((int)vaPage, 40).Fill(0xFF);
        string path = _files.PathOf("pages.pq");
        await File.WriteAllBytesAsync(path, bytes);

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "pages.pq", "row 0, column 'va'", "row group 0", $"the page header at byte {vaPage} cannot be read");
    }

    [Fact]
    public async Task A_trace_without_an_op_column_names_the_column()
    {
        string path = await _files.DuckAsync("noop.pq", "SELECT 4096::UBIGINT AS va");

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        AssertOneSentence(e, "noop.pq", "column 'op'");
    }

    [Fact]
    public async Task A_column_of_the_wrong_type_is_named()
    {
        string path = await _files.DuckAsync("double.pq", "SELECT 0::UTINYINT AS op, 1.5::DOUBLE AS va");

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        AssertOneSentence(e, "double.pq", "column 'va'", "Double");
    }

    [Fact]
    public async Task An_unknown_op_code_names_its_row()
    {
        string path = await _files.DuckAsync("op42.pq",
            "SELECT * FROM (VALUES (0::UTINYINT, 1::UBIGINT), (1, 2), (2, 3), (42, 4), (0, 5)) t(op, va)");

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "op42.pq", "row 3, column 'op'", "42");
        Assert.Equal(3, e.Row);
    }

    [Fact]
    public async Task An_unknown_op_code_in_a_later_row_group_names_its_trace_row()
    {
        string path = await _files.DuckAsync("late.pq",
            "SELECT (CASE WHEN i = 4500 THEN 10 ELSE 0 END)::UTINYINT AS op, i::UBIGINT AS va FROM range(5000) t(i)",
            "COMPRESSION snappy, ROW_GROUP_SIZE 2048");

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "late.pq", "row 4500, column 'op'");
    }

    [Fact]
    public async Task An_op_that_does_not_fit_a_byte_names_its_row()
    {
        string path = await _files.DuckAsync("op300.pq", "SELECT * FROM (VALUES (0::INTEGER, 1::UBIGINT), (300, 2)) t(op, va)");

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "op300.pq", "row 1, column 'op'", "300");
    }

    [Fact]
    public async Task A_null_pa_in_a_ptwrite_names_row_and_column()
    {
        string path = await _files.DuckAsync("nullpa.pq", """
            SELECT * FROM (VALUES (0::UTINYINT, 4096::UBIGINT, 0::UBIGINT, 0::UBIGINT),
                                  (4, 0, NULL, 7)) t(op, va, pa, "value")
            """);

        var e = await ReadFailsAsync(path);

        Assert.Equal($"{path}: row 1, column 'pa': null, but op 'ptwrite' needs it.", e.Message);
    }

    [Fact]
    public async Task A_null_va_in_a_read_names_row_and_column()
    {
        string path = await _files.DuckAsync("nullva.pq",
            "SELECT * FROM (VALUES (3::UTINYINT, NULL::UBIGINT, 4096::UBIGINT), (0, NULL, 0)) t(op, va, \"value\")");

        var e = await ReadFailsAsync(path);

        Assert.Equal($"{path}: row 1, column 'va': null, but op 'read' needs it.", e.Message);
    }

    [Fact]
    public async Task A_missing_column_that_an_op_needs_names_row_and_column()
    {
        string path = await _files.DuckAsync("novalue.pq", "SELECT * FROM (VALUES (0::UTINYINT, 1::UBIGINT), (3, 0)) t(op, va)");

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "novalue.pq", "row 1, column 'value'", "cr3");
    }

    [Fact]
    public async Task A_null_op_names_its_row()
    {
        string path = await _files.DuckAsync("nullop.pq", "SELECT * FROM (VALUES (0::UTINYINT, 1::UBIGINT), (NULL, 2)) t(op, va)");

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "nullop.pq", "row 1, column 'op'", "null");
    }

    [Fact]
    public async Task A_null_time_names_its_row()
    {
        string path = await _files.DuckAsync("nulltime.pq", "SELECT * FROM (VALUES (0::UTINYINT, 1::UBIGINT, 5::BIGINT), (0, 2, NULL)) t(op, va, time)");

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "nulltime.pq", "row 1, column 'time'", "null");
    }

    [Fact]
    public async Task A_ptwrite_of_width_3_names_row_and_column()
    {
        string path = await _files.DuckAsync("width3.pq", """
            SELECT * FROM (VALUES (4::UTINYINT, 0::UBIGINT, 4096::UBIGINT, 1::UBIGINT, 8::UTINYINT),
                                  (0, 64, 0, 0, 3),
                                  (4, 0, 4096, 1, 3)) t(op, va, pa, "value", width)
            """);

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "width3.pq", "row 2, column 'width'", "3");
    }

    [Fact]
    public async Task A_vcpu_beyond_uint16_names_its_row()
    {
        string path = await _files.DuckAsync("vcpu.pq", "SELECT * FROM (VALUES (0::UTINYINT, 1::UBIGINT, 70000::INTEGER)) t(op, va, vcpu)");

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        AssertOneSentence(e, "vcpu.pq", "row 0, column 'vcpu'", "70000");
    }

    [Fact]
    public async Task A_vcpu_beyond_the_declared_count_names_its_row()
    {
        var b = Reads(10);
        b.Vcpu[7] = 5;
        string path = await WriteUncheckedAsync("vcpus.pq", b, vcpus: 2);

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "vcpus.pq", "row 7, column 'vcpu'", "2 vCPUs");
    }

    [Theory]
    [InlineData(false)] // DuckDB stores column statistics: the max is seen at once, then looked for in the data
    [InlineData(true)]  // without statistics (our writer's REQUIRED chunks, read directly) the data is scanned
    public async Task Without_a_declared_count_a_vcpu_above_the_kvm_limit_is_refused_naming_its_row(bool ours)
    {
        // Row 3 of 6 has vCPU 65535 and the file does not declare its vCPUs: taken on trust that would be 65,536 vCPUs
        // of TLBs and caches per engine. At most 1,024 (KVM_MAX_VCPUS); the error names the row, before any replay.
        string path;
        if (ours)
        {
            var b = Reads(6);
            b.Vcpu[3] = 65535;
            path = await WriteUncheckedAsync("stray-ours.pq", b, vcpus: null);
        }
        else
        {
            path = await _files.DuckAsync("stray-duck.pq",
                "SELECT 0::UTINYINT AS op, (i * 4096)::UBIGINT AS va, (CASE WHEN i = 3 THEN 65535 ELSE 0 END)::USMALLINT AS vcpu FROM range(6) t(i)");
        }

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        Assert.Equal((3L, "vcpu"), (e.Row, e.Column));
        AssertOneSentence(e, Path.GetFileName(path), "row 3, column 'vcpu'", "vCPU 65535", "at most 1024 vCPUs");
    }

    [Fact]
    public async Task A_declared_vcpu_count_above_the_kvm_limit_names_the_key_and_1024_is_accepted()
    {
        string tooMany = await WriteUncheckedAsync("vcpus-2g.pq", Reads(3), vcpus: 2_000_000_000);
        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(tooMany));
        AssertOneSentence(e, "vcpus-2g.pq", "replay.guest.vcpus", "2000000000", "from 1 to 1024");

        var b = Reads(3);
        b.Vcpu[2] = 1023;
        await using var reader = await TraceReader.OpenAsync(await WriteUncheckedAsync("vcpus-1024.pq", b, vcpus: 1024));
        Assert.Equal(1024, reader.Info.Vcpus);
    }

    [Fact]
    public async Task A_user_value_that_is_not_0_or_1_names_its_row()
    {
        string path = await _files.DuckAsync("user.pq", "SELECT * FROM (VALUES (0::UTINYINT, 1::UBIGINT, 1::INTEGER), (0, 2, 2)) t(op, va, \"user\")");

        var e = await ReadFailsAsync(path);

        AssertOneSentence(e, "user.pq", "row 1, column 'user'");
    }

    [Fact]
    public async Task Bad_metadata_names_the_key()
    {
        string path = await WriteUncheckedAsync("levels.pq", Reads(3), vcpus: 1, ("replay.guest.paging_levels", "3"));

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        AssertOneSentence(e, "levels.pq", "replay.guest.paging_levels", "4 or 5");
    }

    private static EventBatch Reads(int n)
    {
        var b = new EventBatch(n);
        for (int i = 0; i < n; i++)
        {
            b.Add(TraceOp.Read, va: (ulong)i * 4096);
        }

        return b;
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

    /// <summary>Writes REQUIRED trace columns with Parquet.Net directly, bypassing the checks in <see cref="TraceWriter"/>.</summary>
    private async Task<string> WriteUncheckedAsync(string name, EventBatch b, int? vcpus, params (string Key, string Value)[] metadata)
    {
        string path = _files.PathOf(name);
        var fields = TraceColumns.WriterFields(hasTime: false);
        await using var stream = File.Create(path);
        await using var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(fields), stream);
        var meta = new Dictionary<string, string>();
        if (vcpus is int declared)
        {
            meta["replay.guest.vcpus"] = declared.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in metadata)
        {
            meta[key] = value;
        }

        writer.CustomMetadata = meta;
        using var rg = writer.CreateRowGroup();
        int n = b.Count;
        await rg.WriteAsync(fields[0], new ReadOnlyMemory<byte>(b.Op, 0, n));
        await rg.WriteAsync(fields[1], new ReadOnlyMemory<ushort>(b.Vcpu, 0, n));
        await rg.WriteAsync(fields[2], new ReadOnlyMemory<ulong>(b.Va, 0, n));
        await rg.WriteAsync(fields[3], new ReadOnlyMemory<ulong>(b.Pa, 0, n));
        await rg.WriteAsync(fields[4], new ReadOnlyMemory<ulong>(b.Value, 0, n));
        await rg.WriteAsync(fields[5], new ReadOnlyMemory<bool>(b.User, 0, n));
        await rg.WriteAsync(fields[6], new ReadOnlyMemory<byte>(b.Width, 0, n));
        await rg.WriteAsync(fields[7], new ReadOnlyMemory<uint>(b.Insns, 0, n));
        rg.CompleteValidate();
        return path;
    }

    private static void AssertOneSentence(TraceFormatException e, string file, params string[] parts)
    {
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        foreach (string part in parts)
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }

        Assert.EndsWith(".", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
