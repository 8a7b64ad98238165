using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace Replay.Analysis.ParquetIO;

/// <summary>
/// Stores a CRC-32 in every page header of a Parquet file (parquet-format <c>PageHeader.crc</c>, field 4: the standard
/// CRC-32 of the page as written after its header, compressed bytes included), which Parquet.Net 6.1 cannot write. The
/// file is copied: each page header re-encoded with its <c>crc</c>, page bodies and anything between column chunks byte
/// for byte, and the footer re-encoded field by field with every offset and size that the grown headers move
/// (<c>ColumnMetaData</c> data, index, dictionary and bloom-filter offsets and total sizes, <c>ColumnChunk.file_offset</c>
/// and <c>column_index_offset</c>, <c>RowGroup.file_offset</c>, <c>total_byte_size</c> and <c>total_compressed_size</c>). A file with offset
/// indexes (page locations inside them would move too) is refused; Parquet.Net 6.1 writes none.
/// </summary>
public static class PageCrcs
{
    private const int MaxPageHeaderBytes = 1 << 16;

    private static ReadOnlySpan<byte> Magic => ParquetFooter.Magic;

    /// <summary>
    /// Writes <paramref name="source"/> with page CRCs into the new file <paramref name="target"/>, flushed to disk;
    /// returns the bytes the headers and footer grew by. Throws <see cref="InvalidDataException"/> on a file it cannot
    /// rewrite (deleting <paramref name="target"/>).
    /// </summary>
    public static long Write(string source, string target, CancellationToken ct = default)
    {
        using SafeFileHandle src = File.OpenHandle(source, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        long length = RandomAccess.GetLength(src);
        byte[] footer = ReadFooter(src, length, source, out long footerStart);
        var scratch = new ThriftCompactWriter();
        var chunks = new ChunkList();
        var fr = new ThriftCompactReader(footer);
        ThriftCopy.Struct(ref fr, scratch, Footer.File, chunks);

        try
        {
            using var dst = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
            dst.Write(Magic);
            var moves = new Moves();
            long at = Magic.Length;
            byte[] buffer = [];
            List<(long Start, long Size)> ranges = chunks.Ranges;
            foreach (var (start, size) in ranges.Order())
            {
                ct.ThrowIfCancellationRequested();
                if (start < at || size < 0 || start + size > footerStart)
                {
                    throw new InvalidDataException($"{source}: the column chunk at byte {start} ({size} bytes) overlaps another chunk or the footer.");
                }

                Copy(src, dst, at, start - at, ref buffer);
                if (buffer.Length < size)
                {
                    buffer = new byte[size];
                }

                Read(src, buffer.AsSpan(0, (int)size), start, source);
                WritePages(buffer.AsSpan(0, (int)size), start, dst, moves, scratch, source);
                at = start + size;
            }

            Copy(src, dst, at, footerStart - at, ref buffer);
            scratch.Clear();
            fr = new ThriftCompactReader(footer);
            ThriftCopy.Struct(ref fr, scratch, Footer.File, new FooterEdit(moves, ranges));
            dst.Write(scratch.Written);
            Span<byte> tail = stackalloc byte[8];
            BinaryPrimitives.WriteInt32LittleEndian(tail, scratch.Written.Length);
            Magic.CopyTo(tail[4..]);
            dst.Write(tail);
            dst.Flush(flushToDisk: true);
            return dst.Length - length;
        }
        catch
        {
            File.Delete(target);
            throw;
        }
    }

    /// <summary>
    /// Walks the pages of one column chunk, <paramref name="chunk"/> (its bytes as read from the file, which starts it at
    /// byte <paramref name="start"/>): every page lies inside the chunk, and a page whose header stores a CRC-32
    /// (parquet-format <c>PageHeader.crc</c>, over the page after its header) matches it. Returns the problem (naming
    /// the page's byte in the file), or null; <paramref name="values"/> is what the data pages hold together.
    /// </summary>
    public static string? Check(ReadOnlySpan<byte> chunk, long start, out long values)
    {
        values = 0;
        ReadOnlySpan<byte> bytes = chunk;
        while (bytes.Length > 0)
        {
            long at = start + (chunk.Length - bytes.Length);
            int headerLength;
            ThriftPageHeader page;
            try
            {
                headerLength = ThriftPageHeader.Parse(bytes, out page);
            }
            catch (Exception e) when (e is InvalidDataException or OverflowException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                return $"the page header at byte {at} cannot be read";
            }

            bytes = bytes[headerLength..];
            if (page.CompressedSize < 0 || page.CompressedSize > bytes.Length || page.UncompressedSize < 0 || page.NumValues < 0)
            {
                return $"the page at byte {at} claims {page.CompressedSize} bytes, beyond its column chunk";
            }

            ReadOnlySpan<byte> body = bytes[..page.CompressedSize];
            bytes = bytes[page.CompressedSize..];
            if (page.Crc is uint crc && Crc32.HashToUInt32(body) is uint computed && computed != crc)
            {
                return $"the page at byte {at} fails its CRC-32 check (stored {crc:x8}, computed {computed:x8})";
            }

            if (page.Type is ThriftPageHeader.DataPage or ThriftPageHeader.DataPageV2)
            {
                values += page.NumValues;
            }
        }

        return null;
    }

    /// <summary>Re-encodes each page header of one chunk with its CRC-32 and writes it with its body.</summary>
    private static void WritePages(ReadOnlySpan<byte> chunk, long start, FileStream dst, Moves moves, ThriftCompactWriter header, string source)
    {
        int at = 0;
        while (at < chunk.Length)
        {
            ReadOnlySpan<byte> rest = chunk[at..];
            int headerLength = ThriftPageHeader.Parse(rest[..Math.Min(rest.Length, MaxPageHeaderBytes)], out ThriftPageHeader page);
            if (page.CompressedSize < 0 || page.CompressedSize > rest.Length - headerLength)
            {
                throw new InvalidDataException($"{source}: the page at byte {start + at} runs past its column chunk.");
            }

            ReadOnlySpan<byte> body = rest.Slice(headerLength, page.CompressedSize);
            header.Clear();
            var hr = new ThriftCompactReader(rest[..headerLength]);
            ThriftCopy.Struct(ref hr, header, Footer.PageHeader, new CrcEdit(Crc32.HashToUInt32(body)));
            moves.Add(start + at, header.Written.Length - headerLength);
            dst.Write(header.Written);
            dst.Write(body);
            at += headerLength + page.CompressedSize;
        }
    }

    private static byte[] ReadFooter(SafeFileHandle src, long length, string source, out long footerStart)
    {
        ParquetFooter footer = ParquetFooter.Locate(src, length);
        if (footer.Problem is { } problem)
        {
            throw new InvalidDataException($"{source}: {problem}.");
        }

        footerStart = footer.Start;
        byte[] bytes = new byte[footer.Length];
        Read(src, bytes, footerStart, source);
        return bytes;
    }

    private static void Read(SafeFileHandle src, Span<byte> dst, long offset, string source)
    {
        while (dst.Length > 0)
        {
            int n = RandomAccess.Read(src, dst, offset);
            if (n <= 0)
            {
                throw new InvalidDataException($"{source}: the file ends at byte {offset}.");
            }

            dst = dst[n..];
            offset += n;
        }
    }

    private static void Copy(SafeFileHandle src, FileStream dst, long offset, long count, ref byte[] buffer)
    {
        if (count > 0 && buffer.Length == 0)
        {
            buffer = new byte[1 << 20];
        }

        while (count > 0)
        {
            int n = (int)Math.Min(count, buffer.Length);
            Read(src, buffer.AsSpan(0, n), offset, dst.Name);
            dst.Write(buffer, 0, n);
            (offset, count) = (offset + n, count - n);
        }
    }

    /// <summary>The struct kinds of parquet-format's <c>FileMetaData</c> the footer edit looks into, and <c>PageHeader</c>.</summary>
    private static class Footer
    {
        public const int Other = 0;
        public const int File = 1;
        public const int RowGroup = 2;
        public const int ColumnChunk = 3;
        public const int ColumnMetaData = 4;
        public const int PageHeader = 5;

        public static int KindOf(int parent, short id) => (parent, id) switch
        {
            (File, 4) => RowGroup,               // FileMetaData.row_groups
            (RowGroup, 1) => ColumnChunk,        // RowGroup.columns
            (ColumnChunk, 3) => ColumnMetaData,  // ColumnChunk.meta_data
            _ => Other,
        };
    }

    /// <summary>Where the grown page headers start in the source, and how much each grew: old offsets to new ones.</summary>
    private sealed class Moves
    {
        private readonly List<long> _starts = [];
        private readonly List<long> _grownBy = []; // the growth of every header up to and including this one

        public void Add(long headerStart, int growth)
        {
            _starts.Add(headerStart);
            _grownBy.Add((_grownBy.Count == 0 ? 0 : _grownBy[^1]) + growth);
        }

        /// <summary>Where the source's byte <paramref name="offset"/> lands: moved by every header that starts before it.</summary>
        public long Map(long offset)
        {
            int i = _starts.BinarySearch(offset);
            int before = i >= 0 ? i : ~i;
            return offset + (before == 0 ? 0 : _grownBy[before - 1]);
        }

        /// <summary>The new length of the source's bytes [<paramref name="start"/>, <paramref name="start"/> + <paramref name="size"/>).</summary>
        public long Resize(long start, long size) => Map(start + size) - Map(start);
    }

    /// <summary>PageHeader field 4 (<c>crc</c>, i32) set, or inserted before the first field above it.</summary>
    private sealed class CrcEdit(uint crc) : IThriftEdit
    {
        private bool _written;

        public int KindOf(int parent, short id) => Footer.Other;

        public void Enter(int kind)
        {
        }

        public long Integer(int kind, short id, long value)
        {
            if (kind != Footer.PageHeader || id != 4)
            {
                return value;
            }

            _written = true;
            return unchecked((int)crc);
        }

        public void Before(int kind, short id, ThriftCompactWriter writer)
        {
            if (kind == Footer.PageHeader && id > 4 && !_written)
            {
                writer.Field(4, ThriftCompactReader.I32);
                writer.Integer(unchecked((int)crc));
                _written = true;
            }
        }
    }

    /// <summary>The first pass over the footer: every column chunk's byte range; refuses offset indexes.</summary>
    private sealed class ChunkList : IThriftEdit
    {
        private readonly List<(long Data, long Dictionary, long Size)> _chunks = [];

        public List<(long Start, long Size)> Ranges => _chunks.Select(c => (ChunkBytes.Start(c.Data, c.Dictionary), c.Size)).ToList();

        public int KindOf(int parent, short id) => Footer.KindOf(parent, id);

        public void Enter(int kind)
        {
            if (kind == Footer.ColumnMetaData)
            {
                _chunks.Add((0, 0, 0));
            }
        }

        public long Integer(int kind, short id, long value)
        {
            switch (kind, id)
            {
                case (Footer.ColumnChunk, 4): throw new InvalidDataException("page CRCs cannot be added to a file with offset indexes.");
                case (Footer.ColumnMetaData, 7): _chunks[^1] = _chunks[^1] with { Size = value }; break;
                case (Footer.ColumnMetaData, 9): _chunks[^1] = _chunks[^1] with { Data = value }; break;
                case (Footer.ColumnMetaData, 11): _chunks[^1] = _chunks[^1] with { Dictionary = value }; break;
            }

            return value;
        }

        public void Before(int kind, short id, ThriftCompactWriter writer)
        {
        }
    }

    /// <summary>
    /// The second pass over the footer: every offset and size the grown headers moved. A chunk's sizes (fields 6 and 7
    /// of <c>ColumnMetaData</c>) come before its offsets, so its range is taken from the first pass, in footer order.
    /// </summary>
    private sealed class FooterEdit(Moves moves, IReadOnlyList<(long Start, long Size)> chunks) : IThriftEdit
    {
        private int _chunk = -1;
        private long _groupGrowth;

        public int KindOf(int parent, short id) => Footer.KindOf(parent, id);

        public void Enter(int kind)
        {
            switch (kind)
            {
                case Footer.RowGroup: _groupGrowth = 0; break;
                case Footer.ColumnMetaData: _chunk++; break;
            }
        }

        public long Integer(int kind, short id, long value)
        {
            switch (kind, id)
            {
                case (Footer.ColumnMetaData, 6): // total_uncompressed_size, page headers included
                    return value + Growth();
                case (Footer.ColumnMetaData, 7): // total_compressed_size, page headers included
                    _groupGrowth += Growth();
                    return value + Growth();
                case (Footer.ColumnMetaData, 9 or 10 or 11 or 14) when value > 0: // data, index, dictionary page, bloom filter offsets
                case (Footer.ColumnChunk, 2 or 6) when value > 0: // file_offset, column_index_offset
                case (Footer.RowGroup, 5) when value > 0: // file_offset
                    return moves.Map(value);
                case (Footer.RowGroup, 2 or 6): // total_byte_size (the uncompressed chunks, headers included), total_compressed_size
                    return value + _groupGrowth;
                default:
                    return value;
            }
        }

        public void Before(int kind, short id, ThriftCompactWriter writer)
        {
        }

        private long Growth() => moves.Resize(chunks[_chunk].Start, chunks[_chunk].Size) - chunks[_chunk].Size;
    }
}
