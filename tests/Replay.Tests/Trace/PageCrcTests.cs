using System.Buffers.Binary;
using System.IO.Hashing;
using DuckDB.NET.Data;
using Parquet;
using Parquet.Meta;
using Parquet.Schema;
using Replay.Analysis.ParquetIO;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>
/// This project's traces store a CRC-32 in every page header (issue 15, item 4), which Parquet.Net 6.1 cannot write:
/// <see cref="PageCrcs"/> copies the file with each header re-encoded and the footer's offsets moved. Other readers
/// (Parquet.Net, DuckDB) must read the copy exactly as the original, and the trace reader refuses a flipped bit in a page.
/// </summary>
public sealed class PageCrcTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void The_crc_is_the_standard_crc_32_parquet_format_names()
    {
        // parquet-format: "the standard CRC32 algorithm (polynomial 0x04C11DB7, the same as in e.g. GZip)"; its check value.
        Assert.Equal(0xCBF43926u, Crc32.HashToUInt32("123456789"u8));
    }

    [Fact]
    public async Task Copying_a_footer_with_no_edit_gives_it_back_byte_for_byte()
    {
        string parquetNet = await PlainFileAsync("plain.pq");
        string duck = await _files.DuckAsync("duck.pq",
            "SELECT i::UBIGINT AS va, (i % 7)::UTINYINT AS op, 'name ' || (i % 3) AS s, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 1.5 END AS d FROM range(3000) t(i)",
            "COMPRESSION zstd, ROW_GROUP_SIZE 1000");

        foreach (string path in new[] { parquetNet, duck })
        {
            byte[] footer = Footer(await File.ReadAllBytesAsync(path));
            var r = new ThriftCompactReader(footer);
            var w = new ThriftCompactWriter();
            ThriftCopy.Struct(ref r, w, 0, new NoEdit());

            Assert.Equal(footer, w.Written.ToArray());
        }
    }

    [Fact]
    public async Task Every_page_of_a_written_trace_stores_the_crc_32_of_its_bytes()
    {
        string path = await _files.WriteAsync("trace.pq", Rows(2500), rowGroupSize: 1000);
        byte[] bytes = await File.ReadAllBytesAsync(path);
        int pages = 0;

        foreach (ColumnChunk chunk in await ChunksAsync(path))
        {
            ColumnMetaData meta = chunk.MetaData!;
            int at = (int)ChunkBytes.Start(meta);
            int end = at + (int)meta.TotalCompressedSize;
            while (at < end)
            {
                at += ThriftPageHeader.Parse(bytes.AsSpan(at), out ThriftPageHeader page);
                Assert.Equal(Crc32.HashToUInt32(bytes.AsSpan(at, page.CompressedSize)), page.Crc);
                at += page.CompressedSize;
                pages++;
            }

            Assert.Equal(end, at); // the moved offsets and sizes tile the chunk exactly
        }

        Assert.Equal(3 * 8, pages); // 3 row groups x 8 columns (no time), one page each
        Assert.False(File.Exists(path + ".tmp"));
        Assert.False(File.Exists(path + ".crc.tmp"));
    }

    [Fact]
    public async Task Each_chunk_grows_by_exactly_its_crc_fields()
    {
        // A crc field is one field-header byte (delta 1 from compressed_page_size, type i32) plus the zigzag varint
        // of the CRC as a signed i32 (1 to 5 bytes); the next field's delta stays 1, so nothing else in a header changes.
        string plain = await PlainFileAsync("plain.pq");
        string crc = _files.PathOf("crc.pq");
        PageCrcs.Write(plain, crc);
        byte[] bytes = await File.ReadAllBytesAsync(crc);
        byte[] original = await File.ReadAllBytesAsync(plain);

        var before = await ChunksAsync(plain);
        var after = await ChunksAsync(crc);
        Assert.Equal(before.Count, after.Count);
        for (int c = 0; c < after.Count; c++)
        {
            ColumnMetaData meta = after[c].MetaData!;
            // Parquet.Net counts the page headers in both totals, as parquet-format defines them, so both grow.
            long uncompressed = 0;
            int from = (int)ChunkBytes.Start(before[c].MetaData!);
            for (int at0 = from; at0 < from + before[c].MetaData!.TotalCompressedSize;)
            {
                int length = ThriftPageHeader.Parse(original.AsSpan(at0), out ThriftPageHeader page);
                uncompressed += length + page.UncompressedSize;
                at0 += length + page.CompressedSize;
            }

            Assert.Equal(before[c].MetaData!.TotalUncompressedSize, uncompressed);
            long grown = 0;
            int at = (int)ChunkBytes.Start(meta);
            int end = at + (int)meta.TotalCompressedSize;
            while (at < end)
            {
                at += ThriftPageHeader.Parse(bytes.AsSpan(at), out ThriftPageHeader page);
                grown += 1 + VarintLength(Zigzag(unchecked((int)page.Crc!.Value)));
                at += page.CompressedSize;
            }

            Assert.Equal(before[c].MetaData!.TotalCompressedSize + grown, meta.TotalCompressedSize);
            Assert.Equal(before[c].MetaData!.TotalUncompressedSize + grown, meta.TotalUncompressedSize);
            Assert.Equal(before[c].MetaData!.NumValues, meta.NumValues);
        }

        // A row group's totals are its chunks' (Parquet.Net: total_byte_size the uncompressed one), and stay so.
        foreach (string path in new[] { plain, crc })
        {
            await using ParquetReader reader = await ParquetReader.CreateAsync(path);
            foreach (RowGroup g in reader.Metadata!.RowGroups)
            {
                Assert.Equal(g.Columns.Sum(x => x.MetaData!.TotalUncompressedSize), g.TotalByteSize);
                Assert.Equal(g.Columns.Sum(x => x.MetaData!.TotalCompressedSize), g.TotalCompressedSize ?? -1);
                Assert.Null(g.FileOffset); // Parquet.Net leaves it out; the edit maps it where a writer stored it
            }
        }
    }

    [Fact]
    public async Task Parquet_net_and_duckdb_read_the_copy_with_crcs_exactly_as_the_original()
    {
        string plain = await PlainFileAsync("plain.pq");
        string crc = _files.PathOf("crc.pq");
        PageCrcs.Write(plain, crc);

        Assert.Equal(await ParquetNetRowsAsync(plain), await ParquetNetRowsAsync(crc));
        Assert.Equal(await DuckRowsAsync(plain), await DuckRowsAsync(crc));
        Assert.Equal(3000, (await DuckRowsAsync(crc)).Count);

        // and the same for a trace through the trace reader, against DuckDB's view of it
        string trace = await _files.WriteAsync("trace.pq", Rows(2500), rowGroupSize: 1000);
        ReadBack back = await TraceFiles.ReadAllAsync(trace);
        List<string> duck = await DuckRowsAsync(trace, "op, vcpu, va, pa, value, \"user\", width, insns");
        Assert.Equal(2500, duck.Count);
        for (int i = 0; i < duck.Count; i++)
        {
            var b = back.Rows;
            Assert.Equal($"{b.Op[i]}|{b.Vcpu[i]}|{b.Va[i]}|{b.Pa[i]}|{b.Value[i]}|{b.User[i]}|{b.Width[i]}|{b.Insns[i]}", duck[i]);
        }
    }

    [Fact]
    public async Task A_bit_flipped_in_a_data_page_of_a_written_trace_is_refused_naming_file_column_and_row_group()
    {
        string path = await _files.WriteAsync("flip.pq", Rows(2500), rowGroupSize: 1000);
        ColumnChunk va = (await ChunksAsync(path)).Where(c => c.MetaData!.PathInSchema[0] == "va").ElementAt(1);
        byte[] bytes = await File.ReadAllBytesAsync(path);
        int header = ThriftPageHeader.Parse(bytes.AsSpan((int)va.MetaData!.DataPageOffset), out _);
        bytes[(int)va.MetaData.DataPageOffset + header + 3] ^= 0x10;
        await File.WriteAllBytesAsync(path, bytes);

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceFiles.ReadAllAsync(path));

        Assert.Contains("flip.pq", e.Message, StringComparison.Ordinal);
        Assert.Contains("row 1000", e.Message, StringComparison.Ordinal);
        Assert.Contains("column 'va'", e.Message, StringComparison.Ordinal);
        Assert.Contains($"row group 1: the page at byte {va.MetaData.DataPageOffset} fails its CRC-32 check", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offset_indexes_are_refused_rather_than_left_pointing_at_moved_pages()
    {
        // Parquet.Net 6.1 writes no offset index; a footer that names one (its page locations would move) is refused.
        string indexed = _files.PathOf("indexed.pq");
        await File.WriteAllBytesAsync(indexed, await FooterSurgery.RewriteAsync(await PlainFileAsync("plain.pq"), meta =>
        {
            meta.RowGroups[1].Columns[0].OffsetIndexOffset = 4;
            meta.RowGroups[1].Columns[0].OffsetIndexLength = 10;
        }));

        var e = Assert.Throws<InvalidDataException>(() => PageCrcs.Write(indexed, _files.PathOf("indexed-crc.pq")));

        Assert.Equal("page CRCs cannot be added to a file with offset indexes.", e.Message);
        Assert.False(File.Exists(_files.PathOf("indexed-crc.pq")));
    }

    [Fact]
    public async Task A_changed_metadata_value_is_refused_and_a_trace_without_the_metadata_crc_still_reads()
    {
        string path = await _files.WriteAsync("meta.pq", Rows(10));
        await using (var reader = await TraceReader.OpenAsync(path))
        {
            Assert.Matches("^[0-9a-f]{8}$", reader.Metadata[TraceMetadata.Crc]);
        }

        // 4 GiB -> 4 GiB + 4 KiB: a valid value, so only the checksum can tell
        string changed = _files.PathOf("changed.pq");
        await File.WriteAllBytesAsync(changed, await FooterSurgery.RewriteAsync(path, meta =>
            meta.KeyValueMetadata!.Single(kv => kv.Key == TraceMetadata.MemoryBytes).Value = "4294971392"));
        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(changed));
        Assert.Contains("changed.pq", e.Message, StringComparison.Ordinal);
        Assert.Contains($"the key-value metadata fails its CRC-32 check (metadata '{TraceMetadata.Crc}' is '", e.Message, StringComparison.Ordinal);

        string unsealed = _files.PathOf("unsealed.pq");
        await File.WriteAllBytesAsync(unsealed, await FooterSurgery.RewriteAsync(changed, meta =>
            meta.KeyValueMetadata!.RemoveAll(kv => kv.Key == TraceMetadata.Crc)));
        await using (var reader = await TraceReader.OpenAsync(unsealed))
        {
            Assert.Equal(4294971392UL, reader.Info.MemoryBytes);
        }
    }

    private static EventBatch Rows(int n)
    {
        var b = new EventBatch(n);
        for (int i = 0; i < n; i++)
        {
            b.Add(i % 5 == 0 ? TraceOp.PtWrite : TraceOp.Read, va: 0x40_0000UL + ((ulong)i * 4096), pa: (ulong)i << 12, value: (ulong)i * 0x1_0001, vcpu: (ushort)(i % 4), user: i % 3 == 0, insns: (uint)(i % 11));
        }

        return b;
    }

    /// <summary>A Parquet.Net file of the shapes report files have: strings (dictionary pages), doubles, OPTIONAL columns, 3 row groups.</summary>
    private async Task<string> PlainFileAsync(string name)
    {
        string path = _files.PathOf(name);
        var fields = new DataField[] { new DataField<string>("name"), new DataField<long>("count"), new DataField<double?>("cycles") };
        await using (var stream = File.Create(path))
        await using (ParquetWriter writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream,
            new ParquetOptions { CompressionMethod = CompressionMethod.Zstd, CompressionLevel = System.IO.Compression.CompressionLevel.Fastest }))
        {
            writer.CustomMetadata = new Dictionary<string, string> { ["replay.test"] = "page crcs" };
            for (int g = 0; g < 3; g++)
            {
                using ParquetRowGroupWriter rg = writer.CreateRowGroup();
                await rg.WriteAsync(fields[0], Enumerable.Range(0, 1000).Select(i => (string?)$"engine {i % 4}").ToArray());
                await rg.WriteAsync<long>(fields[1], Enumerable.Range(0, 1000).Select(i => (long)(g * 1000) + i).ToArray().AsMemory());
                await rg.WriteAsync<double>(fields[2], Enumerable.Range(0, 1000).Select(i => i % 7 == 0 ? null : (double?)(i * 0.25)).ToArray().AsMemory());
                rg.CompleteValidate();
            }
        }

        return path;
    }

    private static async Task<List<ColumnChunk>> ChunksAsync(string path)
    {
        await using ParquetReader reader = await ParquetReader.CreateAsync(path);
        return reader.Metadata!.RowGroups.SelectMany(g => g.Columns).ToList();
    }

    /// <summary>The rows of a <see cref="PlainFileAsync"/> file as Parquet.Net reads them, and its key-value metadata.</summary>
    private static async Task<List<string>> ParquetNetRowsAsync(string path)
    {
        await using ParquetReader reader = await ParquetReader.CreateAsync(path);
        DataField[] fields = reader.Schema.GetDataFields();
        var rows = new List<string>();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using ParquetRowGroupReader rg = reader.OpenRowGroupReader(g);
            int n = (int)rg.RowCount;
            var names = new string?[n];
            var counts = new long[n];
            var cycles = new double?[n];
            await rg.ReadAsync(fields[0], names.AsMemory());
            await rg.ReadAsync<long>(fields[1], counts.AsMemory());
            await rg.ReadAsync<double>(fields[2], cycles.AsMemory());
            for (int i = 0; i < n; i++)
            {
                rows.Add(FormattableString.Invariant($"{names[i]}|{counts[i]}|{cycles[i]}"));
            }
        }

        rows.Add(string.Join(',', reader.CustomMetadata.Select(kv => $"{kv.Key}={kv.Value}")));
        return rows;
    }

    private static async Task<List<string>> DuckRowsAsync(string path, string columns = "*")
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {columns} FROM read_parquet('{path}')";
        using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount)
                .Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    private static byte[] Footer(byte[] file)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(file.Length - 8));
        return file[(file.Length - 8 - length)..^8];
    }

    private static ulong Zigzag(long n) => (ulong)((n << 1) ^ (n >> 63));

    private static int VarintLength(ulong v)
    {
        int n = 1;
        while (v >= 0x80)
        {
            v >>= 7;
            n++;
        }

        return n;
    }

    private sealed class NoEdit : IThriftEdit
    {
        public int KindOf(int parent, short id) => 0;

        public void Enter(int kind)
        {
        }

        public long Integer(int kind, short id, long value) => value;

        public void Before(int kind, short id, ThriftCompactWriter writer)
        {
        }
    }
}
