using Microsoft.Win32.SafeHandles;
using Parquet.Meta;

namespace Replay.Analysis.ParquetIO;

/// <summary>
/// One column chunk's bytes read in one positional read and its pages checked (<see cref="PageCrcs.Check"/>) before
/// anything is decoded or sized by the footer: what the trace reader's direct path and the report reader share.
/// </summary>
public static class ChunkBytes
{
    /// <summary>The largest chunk read in one piece: 1 GiB.</summary>
    public const int MaxBytes = 1 << 30;

    /// <summary>The chunk's first byte: its dictionary page when it has one, else its first data page.</summary>
    public static long Start(ColumnMetaData meta) => Start(meta.DataPageOffset, meta.DictionaryPageOffset);

    /// <summary>The chunk's first byte from its two offsets (a dictionary offset of 0 or none: no dictionary page).</summary>
    public static long Start(long dataPageOffset, long? dictionaryPageOffset) =>
        dictionaryPageOffset is > 0 and long d && d < dataPageOffset ? d : dataPageOffset;

    /// <summary>
    /// Reads the chunk <paramref name="meta"/> describes from <paramref name="file"/> (<paramref name="fileLength"/>
    /// bytes) into the front of <paramref name="buffer"/> (grown when too small) and checks its pages; returns the
    /// problem, or null with the chunk's <paramref name="size"/> and the <paramref name="values"/> its data pages hold.
    /// </summary>
    public static string? Read(SafeFileHandle file, long fileLength, ColumnMetaData meta, ref byte[] buffer, out int size, out long values)
    {
        (size, values) = (0, 0);
        long start = Start(meta);
        if (meta.TotalCompressedSize < 0 || start < 4 || start + meta.TotalCompressedSize > fileLength)
        {
            return $"the footer places the chunk at bytes {start} to {start + meta.TotalCompressedSize}, outside the file's {fileLength} bytes";
        }

        if (meta.TotalCompressedSize > MaxBytes)
        {
            return $"the chunk is {meta.TotalCompressedSize} bytes, more than the {MaxBytes} replay reads in one piece (write smaller row groups)";
        }

        int length = (int)meta.TotalCompressedSize;
        if (buffer.Length < length)
        {
            buffer = new byte[length];
        }

        if (RandomAccess.Read(file, buffer.AsSpan(0, length), start) != length)
        {
            return "the file ends inside the chunk";
        }

        size = length;
        return PageCrcs.Check(buffer.AsSpan(0, length), start, out values);
    }
}
