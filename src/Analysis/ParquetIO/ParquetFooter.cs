using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Parquet;

namespace Replay.Analysis.ParquetIO;

/// <summary>What the two ends of a file say about it as Parquet (<see cref="ParquetFooter.Locate"/>).</summary>
public enum FooterState
{
    /// <summary>"PAR1" at both ends and a footer length that fits: <see cref="ParquetFooter.Start"/> and <see cref="ParquetFooter.Length"/> hold.</summary>
    Found,

    /// <summary>Shorter than any Parquet file, or no "PAR1" at its start.</summary>
    NotParquet,

    /// <summary>"PAR1" at the start but not at the end: cut short.</summary>
    Truncated,

    /// <summary>The footer length stored before the last "PAR1" is not a length inside the file.</summary>
    DoesNotFit,

    /// <summary>The footer fits but is longer than the caller parses.</summary>
    TooLarge,
}

/// <summary>
/// The one magic and footer-length check (parquet-format's file layout: <c>PAR1</c>, column chunks, the Thrift
/// <c>FileMetaData</c>, its 4-byte little-endian length, <c>PAR1</c>), read by positional reads of a file handle before
/// anything parses the footer; the trace reader, the report reader and the page-CRC copy all start here, each turning
/// <see cref="Problem"/> into its own error that names the user's file.
/// </summary>
public readonly record struct ParquetFooter(FooterState State, long Start, int Length)
{
    /// <summary>The smallest Parquet file: magic, footer length, magic.</summary>
    public const int MinimumBytes = 12;

    /// <summary>
    /// The largest footer replay parses: 16 MiB, about 31,000 row groups of the 9 trace columns (536 bytes each as the
    /// trace writer writes them). Measured on a trace of 5,000 row groups (a 2.68 MB footer), Parquet.Net's parse
    /// allocates 18 bytes and keeps 14 per footer byte, so this caps a footer's memory at about 300 MB.
    /// </summary>
    public const int MaxBytes = 16 << 20;

    public static ReadOnlySpan<byte> Magic => "PAR1"u8;

    /// <summary>
    /// Checks both magics of the file behind <paramref name="file"/> (<paramref name="length"/> bytes long) and where its
    /// footer lies; a footer of more than <see cref="MaxBytes"/> is <see cref="FooterState.TooLarge"/>.
    /// </summary>
    public static ParquetFooter Locate(SafeFileHandle file, long length)
    {
        Span<byte> head = stackalloc byte[4];
        Span<byte> tail = stackalloc byte[8];
        if (length < MinimumBytes || RandomAccess.Read(file, head, 0) != 4 || !head.SequenceEqual(Magic))
        {
            return new ParquetFooter(FooterState.NotParquet, 0, 0);
        }

        if (RandomAccess.Read(file, tail, length - 8) != 8 || !tail[4..].SequenceEqual(Magic))
        {
            return new ParquetFooter(FooterState.Truncated, 0, 0);
        }

        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(tail);
        long start = length - 8 - stored;
        if (stored == 0 || start < 4)
        {
            return new ParquetFooter(FooterState.DoesNotFit, 0, unchecked((int)stored));
        }

        return new ParquetFooter(stored > MaxBytes ? FooterState.TooLarge : FooterState.Found, start, (int)stored);
    }

    /// <summary>The problem as the end of a sentence that starts with the file's name, or null when <see cref="FooterState.Found"/>.</summary>
    public string? Problem => State switch
    {
        FooterState.NotParquet => "not a Parquet file",
        FooterState.Truncated => "a truncated Parquet file (its footer is missing)",
        FooterState.DoesNotFit => $"a damaged Parquet file whose footer cannot be read (its stated length, {unchecked((uint)Length)} bytes, does not fit the file)",
        FooterState.TooLarge => $"its footer is {Length} bytes, more than the {MaxBytes} replay parses (a footer lists every row group: write larger row groups)",
        _ => null,
    };

    /// <summary>
    /// The way in of every reader of a Parquet file: checks the file behind <paramref name="file"/> with
    /// <see cref="Locate"/>, then lets Parquet.Net parse its footer through <paramref name="stream"/> (a stream over the
    /// same handle, which the reader owns from then on). A file that is not Parquet, is cut short or whose footer cannot
    /// be parsed is <paramref name="fail"/>'s exception, given the problem (the end of a sentence that starts with the
    /// file's name) and what Parquet.Net threw; then, or if cancelled, the stream and the handle are disposed.
    /// </summary>
    public static async Task<ParquetReader> OpenReaderAsync(SafeFileHandle file, Stream stream, Func<string, Exception?, Exception> fail, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(fail);
        Exception failure;
        try
        {
            if (Locate(file, RandomAccess.GetLength(file)).Problem is not { } problem)
            {
                return await ParquetReader.CreateAsync(stream, leaveStreamOpen: false, cancellationToken: ct).ConfigureAwait(false);
            }

            failure = fail(problem, null);
        }
        catch (OperationCanceledException)
        {
            await CloseAsync(stream, file).ConfigureAwait(false);
            throw;
        }
        catch (Exception e)
        {
            failure = fail("a damaged Parquet file whose footer cannot be read", e);
        }

        await CloseAsync(stream, file).ConfigureAwait(false);
        throw failure;
    }

    private static async Task CloseAsync(Stream stream, SafeFileHandle file)
    {
        await stream.DisposeAsync().ConfigureAwait(false);
        file.Dispose();
    }
}
