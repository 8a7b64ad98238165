using Microsoft.Win32.SafeHandles;
using Parquet;

namespace Replay.TraceIO;

/// <summary>
/// Opens a Parquet file and turns every way that can fail (missing, unreadable, not Parquet, truncated,
/// damaged footer) into one <see cref="TraceFormatException"/> sentence that names the file.
/// </summary>
internal static class ParquetFile
{
    /// <summary>The smallest Parquet file: magic, footer length, magic.</summary>
    private const int MinimumBytes = 12;

    /// <summary>
    /// The largest footer replay parses: 16 MiB, about 31,000 row groups of the 9 trace columns (536 bytes each as
    /// <see cref="TraceWriter"/> writes them). Measured on a trace of 5,000 row groups (a 2.68 MB footer), Parquet.Net's
    /// parse allocates 18 bytes and keeps 14 per footer byte, and it parses once more for each column it reads itself
    /// (<see cref="ColumnDecoder"/>'s fallback for shapes the direct reader declines), so this caps a footer's memory at
    /// about 300 MB per parse; it is checked before anything is read by the footer's length.
    /// </summary>
    internal const int MaxFooterBytes = 16 << 20;

    private static ReadOnlySpan<byte> Magic => "PAR1"u8;

    /// <summary>Opens the file and reads its footer; the reader owns the stream.</summary>
    public static async Task<ParquetReader> OpenAsync(string path, CancellationToken ct) => (await OpenWithHandleAsync(path, ct)).Reader;

    /// <summary>
    /// Opens the file once and reads its footer. <paramref name="path"/>'s handle is returned beside the reader for
    /// positional reads (<see cref="RandomAccess"/>, which never move the stream's position); the reader owns the
    /// stream and the handle, and closes both when disposed.
    /// </summary>
    public static async Task<(ParquetReader Reader, SafeFileHandle Handle)> OpenWithHandleAsync(string path, CancellationToken ct)
    {
        FileStream stream;
        SafeFileHandle handle;
        RefuseSpecialFile(path);
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
            try
            {
                stream = new FileStream(handle, FileAccess.Read, bufferSize: 1 << 16, isAsync: false);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TraceFormatException(path, null, null, "no such file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new TraceFormatException(path, null, null, $"cannot be opened ({e.Message.TrimEnd('.')})", e);
        }

        try
        {
            CheckMagic(stream, path);
            return (await ParquetReader.CreateAsync(stream, leaveStreamOpen: false, cancellationToken: ct), handle);
        }
        catch (Exception e) when (e is not TraceFormatException and not OperationCanceledException)
        {
            await stream.DisposeAsync();
            throw new TraceFormatException(path, null, null, "a damaged Parquet file whose footer cannot be read", e);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A file shorter than a Parquet file can be is refused before it is opened. That includes what stat reports with
    /// size 0, a FIFO, a device or a socket: opening a FIFO blocks until a writer comes (and cannot be cancelled), and
    /// none can be read at the positions a Parquet footer names.
    /// </summary>
    private static void RefuseSpecialFile(string path)
    {
        long length;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists && Directory.Exists(path))
            {
                throw new TraceFormatException(path, null, null, "a folder, not a trace file");
            }

            length = info.Exists ? info.Length : MinimumBytes; // a missing file is reported by the open
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return; // the open reports it
        }

        if (length < MinimumBytes)
        {
            throw new TraceFormatException(path, null, null, length == 0
                ? "not a Parquet file (it is empty, or a FIFO, device or socket: copy such a stream to a file first)"
                : "not a Parquet file");
        }
    }

    /// <summary>Tells a file that is not Parquet at all from one cut short, before the library tries to parse it.</summary>
    private static void CheckMagic(FileStream stream, string path)
    {
        Span<byte> head = stackalloc byte[4];
        Span<byte> tail = stackalloc byte[8];
        if (stream.Length < MinimumBytes || stream.Read(head) < 4 || !head.SequenceEqual(Magic))
        {
            throw new TraceFormatException(path, null, null, "not a Parquet file");
        }

        stream.Seek(-8, SeekOrigin.End);
        if (stream.Read(tail) < 8 || !tail[4..].SequenceEqual(Magic))
        {
            throw new TraceFormatException(path, null, null, "a truncated Parquet file (its footer is missing)");
        }

        uint footer = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(tail);
        if (footer > MaxFooterBytes && footer <= stream.Length - MinimumBytes)
        {
            throw new TraceFormatException(path, null, null,
                $"its footer is {footer} bytes, more than the {MaxFooterBytes} replay parses (a footer lists every row group: write larger row groups)");
        }

        stream.Seek(0, SeekOrigin.Begin);
    }
}
