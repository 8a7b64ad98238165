using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Parquet.Meta;
using Parquet.Schema;
using Replay.Analysis.ParquetIO;
using ZstdSharp;

namespace Replay.TraceIO;

/// <summary>
/// Checks every column chunk's pages against the footer (<see cref="Load"/>), and reads a REQUIRED, PLAIN-encoded
/// chunk (what <see cref="TraceWriter"/> writes) without Parquet.Net's per-page buffers: one positional read of the
/// chunk into a reused buffer, then each page is decompressed
/// straight into the batch array (64-bit columns and INT32 holding uint32) or into a reused page buffer and
/// narrowed (INT32 holding uint8/uint16) or unpacked (booleans). Pages may be v1 or v2; codecs none, snappy or zstd. Any other
/// shape (dictionary pages, other encodings or codecs) is declined and Parquet.Net reads the chunk.
/// Only one read at a time per instance.
/// </summary>
internal sealed class DirectChunkReader : IDisposable
{
    private const int Plain = 0;

    private readonly SafeFileHandle _file;
    private readonly Decompressor _zstd = new();
    private byte[] _chunk = [];
    private byte[] _page = [];
    private int _loaded;
    private long _loadedStart;

    public DirectChunkReader(SafeFileHandle file) => _file = file;

    /// <summary>
    /// Reads the whole chunk once (into a buffer <see cref="TryRead"/> then decodes from) and checks its pages
    /// against the footer before anything is sized by the footer's counts: every page lies inside the chunk, the
    /// data pages hold <paramref name="rows"/> values together, and a page whose header stores a CRC-32
    /// (parquet-format <c>PageHeader.crc</c>, over the page body) matches it (<see cref="ChunkBytes.Read"/>). Returns the problem, or null.
    /// </summary>
    public string? Load(ColumnChunk chunk, long rows, long fileLength)
    {
        _loaded = 0;
        ColumnMetaData? meta = chunk.MetaData;
        if (meta is null)
        {
            return "no column metadata in the footer";
        }

        if (ChunkBytes.Read(_file, fileLength, meta, ref _chunk, out int size, out long values) is { } problem)
        {
            return problem;
        }

        if (values != rows)
        {
            return $"the footer says {rows} rows, but the chunk's pages hold {values} values";
        }

        (_loaded, _loadedStart) = (size, ChunkBytes.Start(meta));
        return null;
    }

    /// <summary>The file offset of the chunk the last successful <see cref="Load"/> read.</summary>
    public long LoadedStart => _loadedStart;

    /// <summary>The bytes of the chunk the last successful <see cref="Load"/> read and checked; empty when it failed.</summary>
    public ReadOnlyMemory<byte> Loaded => _chunk.AsMemory(0, _loaded);

    /// <summary>
    /// Decodes rows [0, n) of <paramref name="column"/> from the chunk <see cref="Load"/> read into
    /// <paramref name="target"/>, an array whose element type is the field's CLR type. False, with nothing promised
    /// about the target, when the chunk has a shape this reader does not handle.
    /// </summary>
    public bool TryRead(ColumnChunk chunk, DataField field, TraceColumn column, Array target, int n, out RowError? error)
    {
        error = null;
        ColumnMetaData? meta = chunk.MetaData;
        if (meta is null || _loaded == 0 || field.IsNullable || field.IsArray || meta.NumValues != n
            || meta.Codec is not (CompressionCodec.UNCOMPRESSED or CompressionCodec.SNAPPY or CompressionCodec.ZSTD)
            || meta.DictionaryPageOffset is > 0
            || meta.Encodings.Exists(e => e is not (Encoding.PLAIN or Encoding.RLE or Encoding.BIT_PACKED))
            || !Matches(meta.Type, target))
        {
            return false;
        }

        Span<byte> bytes = _chunk.AsSpan(0, _loaded);
        int done = 0;
        while (bytes.Length > 0 && done < n)
        {
            int headerLength = ThriftPageHeader.Parse(bytes, out ThriftPageHeader page);
            bytes = bytes[headerLength..];
            ReadOnlySpan<byte> body = bytes[..page.CompressedSize];
            bytes = bytes[page.CompressedSize..];
            if (page.Type is not (ThriftPageHeader.DataPage or ThriftPageHeader.DataPageV2))
            {
                if (page.Type == ThriftPageHeader.DictionaryPage)
                {
                    return false;
                }

                continue;
            }

            if (page.Encoding != Plain || page.NumValues > n - done || page.LevelsByteLength != 0)
            {
                return false;
            }

            bool compressed = page.Type == ThriftPageHeader.DataPage || page.IsCompressed;
            error ??= DecodePage(body, page, compressed ? meta.Codec : CompressionCodec.UNCOMPRESSED, column, target, done);
            done += page.NumValues;
        }

        if (done != n)
        {
            throw new InvalidDataException($"Column chunk holds {done} values, not {n}.");
        }

        return true;
    }

    public void Dispose() => _zstd.Dispose();

    private static bool Matches(Parquet.Meta.Type physical, Array target) => target switch
    {
        ulong[] or long[] => physical == Parquet.Meta.Type.INT64,
        byte[] or ushort[] or uint[] => physical == Parquet.Meta.Type.INT32,
        bool[] => physical == Parquet.Meta.Type.BOOLEAN,
        _ => false,
    };

    private RowError? DecodePage(ReadOnlySpan<byte> body, ThriftPageHeader page, CompressionCodec codec, TraceColumn column, Array target, int at)
    {
        int count = page.NumValues;
        switch (target)
        {
            case ulong[] u:
                Decompress(body, codec, MemoryMarshal.AsBytes(u.AsSpan(at, count)));
                return null;
            case long[] l:
                Decompress(body, codec, MemoryMarshal.AsBytes(l.AsSpan(at, count)));
                return null;
            case uint[] u32:
                // A uint32 is stored as the INT32 of the same bits, so the page is the array as it stands.
                Decompress(body, codec, MemoryMarshal.AsBytes(u32.AsSpan(at, count)));
                return null;
            case bool[] b:
                PlainValues.UnpackBools(Decompress(body, codec, PageBuffer((count + 7) / 8)), b.AsSpan(at, count));
                return null;
        }

        ReadOnlySpan<int> ints = MemoryMarshal.Cast<byte, int>(Decompress(body, codec, PageBuffer(count * 4)));
        uint max = target is byte[] ? byte.MaxValue : ushort.MaxValue;
        int bad = PlainValues.FirstAbove(ints, max);
        if (bad >= 0)
        {
            return ColumnConverter.OutOfRange(column, at + bad, ints[bad]);
        }

        if (target is byte[] bytes)
        {
            PlainValues.NarrowToBytes(ints, bytes.AsSpan(at, count));
        }
        else
        {
            PlainValues.NarrowToUInt16(ints, ((ushort[])target).AsSpan(at, count));
        }

        return null;
    }

    private Span<byte> PageBuffer(int length)
    {
        if (_page.Length < length)
        {
            _page = new byte[length];
        }

        return _page.AsSpan(0, length);
    }

    /// <summary>Decompresses a page body into exactly <paramref name="dst"/>; returns it.</summary>
    private Span<byte> Decompress(ReadOnlySpan<byte> body, CompressionCodec codec, Span<byte> dst)
    {
        int length = codec switch
        {
            CompressionCodec.ZSTD => _zstd.Unwrap(body, dst),
            CompressionCodec.SNAPPY => Snappier.Snappy.Decompress(body, dst),
            _ => body.TryCopyTo(dst) ? body.Length : -1,
        };
        return length == dst.Length ? dst : throw new InvalidDataException($"Page decompresses to {length} bytes, not {dst.Length}.");
    }
}
