using Microsoft.Win32.SafeHandles;
using Parquet;
using ColumnChunk = Parquet.Meta.ColumnChunk;

namespace Replay.Analysis.ParquetIO;

/// <summary>
/// A Parquet file opened once, read through Parquet.Net, whose pages are checked before they are decoded: the report
/// reader's way in. Its magic and footer length are checked first (<see cref="ParquetFooter"/>); then
/// <see cref="CheckRowGroup"/> reads each column chunk of a row group by positional reads of the same handle and
/// checks every page against the CRC-32 its header stores (<see cref="ChunkBytes.Read"/>), as the trace reader does, so
/// a damaged page is one error naming the file, its column and its row group rather than a wrong value or a library
/// error. Pages without a CRC (files written before report CRCs, or rewritten by DuckDB, pandas or Spark) are read
/// as they are.
/// </summary>
public sealed class CheckedParquetFile : IAsyncDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long _length;
    private byte[] _chunk = [];

    private readonly string _what;

    private CheckedParquetFile(string path, string what, SafeFileHandle handle, long length, ParquetReader reader)
    {
        Path = path;
        _what = what;
        _handle = handle;
        _length = length;
        Reader = reader;
    }

    public string Path { get; }

    /// <summary>The file's reader; it owns the handle.</summary>
    public ParquetReader Reader { get; }

    /// <summary>
    /// Opens <paramref name="path"/> and parses its footer; a file that is not Parquet, is cut short or whose footer
    /// cannot be parsed is a <see cref="ParquetFileException"/> whose message starts with <paramref name="what"/>
    /// (e.g. <c>Report file 'reports/a/summary.parquet'</c>). A missing or unreadable file throws as the system does.
    /// </summary>
    public static async Task<CheckedParquetFile> OpenAsync(string path, string what, CancellationToken ct = default)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        var stream = new FileStream(handle, FileAccess.Read, bufferSize: 1 << 16, isAsync: false);
        ParquetReader reader = await ParquetFooter.OpenReaderAsync(handle, stream,
            (problem, inner) => inner is null ? new ParquetFileException($"{what}: {problem}.") : new ParquetFileException($"{what}: {problem}.", inner), ct).ConfigureAwait(false);
        return new CheckedParquetFile(path, what, handle, RandomAccess.GetLength(handle), reader);
    }

    /// <summary>
    /// Checks every column chunk of row group <paramref name="group"/>: inside the file, and each page matching its
    /// stored CRC-32; throws a <see cref="ParquetFileException"/> on the first chunk that does not, naming the file as
    /// <see cref="OpenAsync"/> was told to, the column and the row group.
    /// </summary>
    public void CheckRowGroup(int group)
    {
        foreach (ColumnChunk chunk in Reader.OpenRowGroupReader(group).RowGroup.Columns)
        {
            string column = chunk.MetaData?.PathInSchema is { Count: > 0 } names ? string.Join('.', names) : "?";
            if (Problem(chunk) is { } problem)
            {
                throw new ParquetFileException($"{_what}: column '{column}', row group {group}: {problem}.");
            }
        }
    }

    public ValueTask DisposeAsync() => Reader.DisposeAsync();

    private string? Problem(ColumnChunk chunk)
    {
        if (chunk.MetaData is not { } meta)
        {
            return "no column metadata in the footer";
        }

        return ChunkBytes.Read(_handle, _length, meta, ref _chunk, out _, out long values) ?? (values == meta.NumValues ? null
            : $"the footer says {meta.NumValues} values, but the chunk's pages hold {values}");
    }
}
