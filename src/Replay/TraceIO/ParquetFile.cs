using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using Parquet;
using Replay.Analysis.ParquetIO;

namespace Replay.TraceIO;

/// <summary>
/// A trace's Parquet file, opened once and its footer parsed once (issue 16): one handle, read by positional reads
/// (<see cref="RandomAccess"/>) wherever the file is read, by the direct column reader, the hash, and Parquet.Net through
/// <see cref="Stream"/>, whose positions are per reader so Parquet.Net decodes columns in parallel on the one
/// <see cref="Reader"/>. Every way opening can fail (missing, unreadable, not Parquet, truncated, damaged footer) is one
/// <see cref="TraceFormatException"/> sentence that names the file.
/// </summary>
internal sealed class ParquetFile : IAsyncDisposable
{
    /// <summary>The largest footer replay parses (<see cref="ParquetFooter.MaxBytes"/>), checked before it is read.</summary>
    internal const int MaxFooterBytes = ParquetFooter.MaxBytes;

    /// <summary>Opens and footer parses per full path, in this process: what the tests hold the "once per trace" to.</summary>
    private static readonly ConcurrentDictionary<string, (int Opens, int FooterParses)> Counted = new(StringComparer.Ordinal);

    private ParquetFile(string path, SafeFileHandle handle, SharedFileStream stream, ParquetReader reader)
    {
        Path = path;
        Handle = handle;
        Stream = stream;
        Reader = reader;
        Length = stream.Length;
    }

    public string Path { get; }

    /// <summary>The file's one handle, for positional reads; owned by <see cref="Stream"/>.</summary>
    public SafeFileHandle Handle { get; }

    /// <summary>The stream <see cref="Reader"/> reads; a column decode reads at a position of its own inside <see cref="SharedFileStream.Use"/>.</summary>
    public SharedFileStream Stream { get; }

    /// <summary>The footer, parsed; the reader owns the stream and the handle, and closes both when disposed.</summary>
    public ParquetReader Reader { get; }

    public long Length { get; }

    /// <summary>How many times this process opened <paramref name="path"/> as a trace, and parsed its footer.</summary>
    internal static (int Opens, int FooterParses) Counts(string path) =>
        Counted.TryGetValue(System.IO.Path.GetFullPath(path), out var c) ? c : (0, 0);

    /// <summary>Opens the file once and parses its footer.</summary>
    public static async Task<ParquetFile> OpenAsync(string path, CancellationToken ct)
    {
        RefuseSpecialFile(path);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TraceFormatException(path, null, null, "no such file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new TraceFormatException(path, null, null, $"cannot be opened ({e.Message.TrimEnd('.')})", e);
        }

        Count(path, opens: 1, parses: 0);
        var stream = new SharedFileStream(handle);
        ParquetReader reader = await ParquetFooter.OpenReaderAsync(handle, stream, (problem, inner) => new TraceFormatException(path, null, null, problem, inner), ct);
        Count(path, opens: 0, parses: 1);
        return new ParquetFile(path, handle, stream, reader);
    }

    public ValueTask DisposeAsync() => Reader.DisposeAsync();

    private static void Count(string path, int opens, int parses) =>
        Counted.AddOrUpdate(System.IO.Path.GetFullPath(path), (opens, parses), (_, c) => (c.Opens + opens, c.FooterParses + parses));

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

            length = info.Exists ? info.Length : ParquetFooter.MinimumBytes; // a missing file is reported by the open
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return; // the open reports it
        }

        if (length < ParquetFooter.MinimumBytes)
        {
            throw new TraceFormatException(path, null, null, length == 0
                ? "not a Parquet file (it is empty, or a FIFO, device or socket: copy such a stream to a file first)"
                : "not a Parquet file");
        }
    }
}
