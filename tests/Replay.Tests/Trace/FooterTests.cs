using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;
using Parquet;
using Parquet.Meta;
using Replay.Engines.Trace;
using Replay.Tests.Cli;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>
/// The footer's counts and offsets are claims: the reader checks them against each other and against the pages
/// before it sizes anything by them (issue 15, item 1), and checks a page's CRC-32 where the writer stored one.
/// </summary>
public sealed class FooterTests : IDisposable
{
    private const int Rows = 20_000;
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task A_footer_claiming_more_rows_than_the_pages_hold_is_refused_before_a_batch_is_sized()
    {
        string path = await RewriteFooterAsync("more.pq", meta =>
        {
            meta.RowGroups[0].NumRows = 50_000_000;
            meta.RowGroups[0].Columns.ForEach(c => c.MetaData!.NumValues = 50_000_000);
        });

        var e = await ReadFailsAsync(path);

        Assert.Equal($"{path}: row 0, column 'op': row group 0: the footer says 50000000 rows, but the chunk's pages hold {Rows} values.", e.Message);
    }

    [Fact]
    public async Task A_row_count_near_two_to_the_31_is_an_error_not_out_of_memory()
    {
        string path = await RewriteFooterAsync("huge.pq", meta =>
        {
            meta.RowGroups[0].NumRows = int.MaxValue - 100;
            meta.RowGroups[0].Columns.ForEach(c => c.MetaData!.NumValues = int.MaxValue - 100);
        });

        var e = await ReadFailsAsync(path);

        Assert.Equal($"{path}: row 0: row group 0 has 2147483547 rows in the footer; replay reads at most 67108864 rows per row group (write smaller row groups).", e.Message);
    }

    [Fact]
    public async Task A_group_row_count_that_disagrees_with_its_columns_is_refused_at_open()
    {
        string path = await RewriteFooterAsync("group.pq", meta => meta.RowGroups[0].NumRows = Rows + 1);

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        Assert.Equal($"{path}: row 0, column 'op': row group 0: the footer says {Rows + 1} rows but {Rows} values in this column.", e.Message);
    }

    [Fact]
    public async Task A_chunk_offset_pointing_into_another_column_is_refused_at_open()
    {
        long opStart = 0;
        string path = await RewriteFooterAsync("offset.pq", meta =>
        {
            ColumnChunk op = meta.RowGroups[0].Columns[0], va = meta.RowGroups[0].Columns[2];
            opStart = op.MetaData!.DataPageOffset;
            va.MetaData!.DataPageOffset = opStart;
            va.FileOffset = opStart;
        });

        var e = await Assert.ThrowsAsync<TraceFormatException>(() => TraceReader.OpenAsync(path));

        Assert.StartsWith($"{path}: column 'va': row group 0: the footer places this chunk at byte {opStart}, inside column 'op''s chunk of row group 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_line_exits_1_with_one_sentence_on_a_lying_footer()
    {
        string path = await RewriteFooterAsync("cli.pq", meta =>
        {
            meta.RowGroups[0].NumRows = 50_000_000;
            meta.RowGroups[0].Columns.ForEach(c => c.MetaData!.NumValues = 50_000_000);
        });
        using TempDir reports = Cli.Cli.Temp();

        var run = await Cli.Cli.RunAsync(path, "--engine", "native", "--out", reports.Path);
        var inspect = await Cli.Cli.RunAsync("inspect", path);

        Assert.Equal(1, run.Code);
        Assert.Equal(1, inspect.Code);
        Assert.Contains("the footer says 50000000 rows, but the chunk's pages hold 20000 values", run.Err, StringComparison.Ordinal);
        Assert.Single(run.Err.Trim().Split('\n'));
        Assert.Empty(Directory.GetFileSystemEntries(reports.Path));
    }

    [Fact]
    public async Task A_page_whose_stored_crc_matches_loads_and_one_bit_flipped_is_refused()
    {
        byte[] body = new byte[64];
        for (int i = 0; i < body.Length; i++)
        {
            body[i] = (byte)(i * 37);
        }

        uint crc = Crc32.HashToUInt32(body);
        Assert.Null(await LoadAsync("crc-good.bin", body, crc));

        byte[] flipped = (byte[])body.Clone();
        flipped[10] ^= 0x04;
        string? problem = await LoadAsync("crc-bad.bin", flipped, crc);

        Assert.Equal($"the page at byte 4 fails its CRC-32 check (stored {crc:x8}, computed {Crc32.HashToUInt32(flipped):x8})", problem);
    }

    [Fact]
    public async Task A_footer_longer_than_replay_parses_is_refused_before_it_is_read()
    {
        // A sparse 17 MiB + 12-byte file whose last 8 bytes claim a 17 MiB footer (issue 15, item 9: a footer listing
        // many row groups costs memory per byte for every reader that parses it). Before, Parquet.Net read and parsed it.
        string path = _files.PathOf("huge-footer.pq");
        const int footer = 17 << 20;
        await using (var f = new FileStream(path, FileMode.CreateNew))
        {
            f.Write("PAR1"u8);
            f.SetLength(4 + footer + 8);
            f.Seek(-8, SeekOrigin.End);
            byte[] tail = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(tail, footer);
            "PAR1"u8.CopyTo(tail.AsSpan(4));
            f.Write(tail);
        }

        var e = await ReadFailsAsync(path);

        Assert.Equal($"{path}: its footer is {footer} bytes, more than the {ParquetFile.MaxFooterBytes} replay parses (a footer lists every row group: write larger row groups).", e.Message);
    }

    [Fact]
    public async Task A_page_without_a_crc_is_not_checked()
    {
        Assert.Null(await LoadAsync("no-crc.bin", new byte[64], crc: null));
    }

    /// <summary>
    /// One PLAIN INT64 data page of 8 values (its header in Thrift's compact protocol, with or without the optional
    /// <c>crc</c> field 4) after "PAR1", and <see cref="DirectChunkReader.Load"/>'s verdict on it.
    /// </summary>
    private async Task<string?> LoadAsync(string name, byte[] body, uint? crc)
    {
        var header = new List<byte>();
        void Field(int delta, int type) => header.Add((byte)((delta << 4) | type));
        void Varint(long v)
        {
            ulong z = (ulong)((v << 1) ^ (v >> 63));
            while (z >= 0x80)
            {
                header.Add((byte)(z | 0x80));
                z >>= 7;
            }

            header.Add((byte)z);
        }

        const int I32 = 5, Struct = 12;
        Field(1, I32); Varint(0); // type DATA_PAGE
        Field(1, I32); Varint(body.Length); // uncompressed_page_size
        Field(1, I32); Varint(body.Length); // compressed_page_size
        int delta = 2;
        if (crc is uint c)
        {
            Field(1, I32); Varint(unchecked((int)c)); // crc
            delta = 1;
        }

        Field(delta, Struct); // data_page_header
        Field(1, I32); Varint(body.Length / 8); // num_values
        Field(1, I32); Varint(0); // encoding PLAIN
        Field(1, I32); Varint(3); // definition_level_encoding RLE
        Field(1, I32); Varint(3); // repetition_level_encoding RLE
        header.Add(0);
        header.Add(0);

        byte[] file = [.. "PAR1"u8.ToArray(), .. header, .. body];
        string path = _files.PathOf(name);
        await File.WriteAllBytesAsync(path, file);
        var chunk = new ColumnChunk
        {
            MetaData = new ColumnMetaData
            {
                Type = Parquet.Meta.Type.INT64,
                Codec = CompressionCodec.UNCOMPRESSED,
                NumValues = body.Length / 8,
                DataPageOffset = 4,
                TotalCompressedSize = file.Length - 4,
                Encodings = [Encoding.PLAIN],
                PathInSchema = ["va"],
            },
        };
        using SafeFileHandle handle = File.OpenHandle(path);
        using var direct = new DirectChunkReader(handle);
        return direct.Load(chunk, body.Length / 8, file.Length);
    }

    /// <summary>A good <see cref="Rows"/>-row trace whose footer <paramref name="edit"/> changes (<see cref="FooterSurgery"/>).</summary>
    private async Task<string> RewriteFooterAsync(string name, Action<FileMetaData> edit)
    {
        var b = new EventBatch(Rows);
        for (int i = 0; i < Rows; i++)
        {
            b.Add(TraceOp.Read, va: (ulong)i * 4096);
        }

        string good = await _files.WriteAsync("good-" + name, b, new TraceInfo { Vcpus = 1 });
        string path = _files.PathOf(name);
        await File.WriteAllBytesAsync(path, await FooterSurgery.RewriteAsync(good, edit));
        return path;
    }

    private static async Task<TraceFormatException> ReadFailsAsync(string path) =>
        await Assert.ThrowsAsync<TraceFormatException>(async () =>
        {
            await using TraceReader reader = await TraceReader.OpenAsync(path);
            var batch = new EventBatch(0);
            while (await reader.ReadNextAsync(batch))
            {
            }
        });
}
