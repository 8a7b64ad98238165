using Parquet;
using Replay.Analysis.ParquetIO;
using ColumnChunk = Parquet.Meta.ColumnChunk;
using Replay.Engines.Trace;

namespace Replay.TraceIO;

/// <summary>
/// Decodes whole row groups of one trace into <see cref="EventBatch"/>es: one task per column (each
/// column has its own <see cref="ColumnDecoder"/> over the file's one handle and one parsed footer), then defaults for absent columns,
/// then the SPEC §1 row checks.
/// A bad row group throws a <see cref="TraceFormatException"/> naming its earliest bad row, so the result
/// is the same whatever order the column tasks finish in. One decode at a time.
/// </summary>
internal sealed class RowGroupDecoder : IAsyncDisposable
{
    private readonly string _path;
    private readonly ParquetFile _file;
    private readonly ColumnDecoder[] _columns;
    private readonly long[] _rowCounts;
    private readonly long[] _firstRows;
    private readonly long _fileLength;

    private RowGroupDecoder(string path, ParquetFile file, ColumnDecoder[] columns, long[] rowCounts, long fileLength)
    {
        _path = path;
        _fileLength = fileLength;
        _file = file;
        _columns = columns;
        _rowCounts = rowCounts;
        _firstRows = new long[rowCounts.Length];
        for (int g = 1; g < rowCounts.Length; g++)
        {
            _firstRows[g] = _firstRows[g - 1] + rowCounts[g - 1];
        }
    }

    public string Path => _path;

    public int Count => _rowCounts.Length;

    public long FileLength => _fileLength;

    public long RowCount => Count == 0 ? 0 : _firstRows[^1] + _rowCounts[^1];

    public bool HasTime => Find(TraceColumn.Time) is not null;

    /// <summary>vCPU count rows are checked against; set once the trace's count is known.</summary>
    public int Vcpus { get; set; } = int.MaxValue;

    /// <summary>
    /// The decoder of the trace <paramref name="trace"/>, which it owns from now on and disposes. The parsed footer is
    /// read here once: every group's row count and every column's chunk metadata, in one pass over the groups.
    /// </summary>
    public static RowGroupDecoder Open(ParquetFile trace, TraceSchema schema)
    {
        string path = trace.Path;
        ParquetReader file = trace.Reader;
        var fields = TraceColumns.All.Where(c => schema[c] is not null).Select(c => (Column: c, Field: schema[c]!)).ToArray();
        var chunks = fields.Select(_ => new ColumnChunk?[file.RowGroupCount]).ToArray();
        long[] rowCounts = new long[file.RowGroupCount];
        for (int g = 0; g < rowCounts.Length; g++)
        {
            using ParquetRowGroupReader rg = file.OpenRowGroupReader(g);
            rowCounts[g] = rg.RowCount;
            for (int c = 0; c < fields.Length; c++)
            {
                chunks[c][g] = rg.GetMetadata(fields[c].Field);
            }
        }

        CheckChunks(path, fields.Select(f => f.Column).ToArray(), chunks, rowCounts);
        var columns = fields.Select((f, c) => new ColumnDecoder(trace, chunks[c], f.Field, f.Column)).ToArray();
        return new RowGroupDecoder(path, trace, columns, rowCounts, trace.Length);
    }

    /// <summary>Rows per row group replay reads: 2^26, the largest row group pyarrow wrote by default before version 15.</summary>
    public const int MaxGroupRows = 1 << 26;

    /// <summary>
    /// The footer's own consistency, before any page is read: each chunk states as many values as its group has rows
    /// (trace columns are flat), and no two chunks share a byte.
    /// </summary>
    private static void CheckChunks(string path, TraceColumn[] columns, ColumnChunk?[][] chunks, long[] rowCounts)
    {
        var ranges = new List<(long Start, long End, int Column, int Group)>();
        long first = 0;
        for (int g = 0; g < rowCounts.Length; g++)
        {
            for (int c = 0; c < columns.Length; c++)
            {
                if (chunks[c][g]?.MetaData is not { } meta)
                {
                    throw new TraceFormatException(path, first, columns[c].Name(), $"row group {g}: no column chunk metadata in the footer");
                }

                if (meta.NumValues != rowCounts[g])
                {
                    throw new TraceFormatException(path, first, columns[c].Name(),
                        $"row group {g}: the footer says {rowCounts[g]} rows but {meta.NumValues} values in this column");
                }

                long start = ChunkBytes.Start(meta);
                ranges.Add((start, start + Math.Max(0, meta.TotalCompressedSize), c, g));
            }

            first += rowCounts[g];
        }

        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int i = 1; i < ranges.Count; i++)
        {
            var (prev, next) = (ranges[i - 1], ranges[i]);
            if (next.Start < prev.End)
            {
                throw new TraceFormatException(path, null, columns[next.Column].Name(),
                    $"row group {next.Group}: the footer places this chunk at byte {next.Start}, inside column '{columns[prev.Column].Name()}''s chunk of row group {prev.Group} (bytes {prev.Start} to {prev.End})");
            }
        }
    }

    public ColumnDecoder? Find(TraceColumn column) => Array.Find(_columns, c => c.Column == column);

    /// <summary>
    /// Rows of group <paramref name="group"/> as the footer states them, checked to fit one batch
    /// (<see cref="MaxGroupRows"/>); the pages are checked against it before a batch is sized by it.
    /// </summary>
    public int Rows(int group) => _rowCounts[group] is >= 0 and <= MaxGroupRows
        ? (int)_rowCounts[group]
        : throw new TraceFormatException(_path, _firstRows[group], null,
            $"row group {group} has {_rowCounts[group]} rows in the footer; replay reads at most {MaxGroupRows} rows per row group (write smaller row groups)");

    /// <summary>
    /// Reads every column's chunk of <paramref name="group"/> and checks its pages hold the footer's
    /// <paramref name="rows"/> (one task per column), so a footer that lies about a count or an offset is an error
    /// before anything is sized or decoded by it.
    /// </summary>
    public async Task LoadAsync(int group, int rows, CancellationToken ct)
    {
        var tasks = new Task[_columns.Length];
        for (int i = 0; i < tasks.Length; i++)
        {
            ColumnDecoder column = _columns[i];
            tasks[i] = Task.Run(() => column.Load(group, rows, _firstRows[group], _fileLength), ct);
        }

        try
        {
            await Task.WhenAll(tasks);
        }
        catch (TraceFormatException) when (Array.Find(tasks, t => t.IsFaulted)?.Exception?.InnerException is TraceFormatException first)
        {
            throw first; // the first column in schema order, whatever order the tasks failed in
        }
    }

    public async Task DecodeAsync(int group, EventBatch dst, CancellationToken ct)
    {
        int n = Rows(group);
        await LoadAsync(group, n, ct);
        dst.EnsureCapacity(n);
        FillAbsentColumns(dst, n);

        var tasks = new Task<RowError?>[_columns.Length];
        for (int i = 0; i < tasks.Length; i++)
        {
            ColumnDecoder column = _columns[i];
            tasks[i] = Task.Run(() => column.DecodeAsync(group, dst, n, ct), ct);
        }

        await WhenAllAsync(group, tasks, n);
        RowError? first = null;
        foreach (Task<RowError?> t in tasks)
        {
            first = RowError.First(first, t.Result);
        }

        first = RowError.First(first, BatchValidator.Check(dst, n, Vcpus, Nulls(TraceColumn.Va), Nulls(TraceColumn.Pa), Nulls(TraceColumn.Value)));
        if (first is { } error)
        {
            throw error.ToException(_path, _firstRows[group]);
        }

        dst.Count = n;
        dst.FirstRow = _firstRows[group];
        dst.HasTime = HasTime;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ColumnDecoder c in _columns)
        {
            await c.DisposeAsync();
        }

        await _file.DisposeAsync();
    }

    /// <summary>Waits for every column; a library failure becomes one error naming the first failed column.</summary>
    private async Task WhenAllAsync(int group, Task<RowError?>[] tasks, int n)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (Array.Find(tasks, t => t.IsFaulted)?.Exception?.InnerException is { } e
            && e is not TraceFormatException and not OperationCanceledException)
        {
            int failed = Array.FindIndex(tasks, t => t.IsFaulted);
            string rows = $"rows {_firstRows[group]} to {_firstRows[group] + n - 1}";
            throw new TraceFormatException(_path, null, _columns[failed].Column.Name(), $"row group {group} ({rows}) cannot be decoded", e);
        }
    }

    private NullMap Nulls(TraceColumn column) => Find(column)?.Nulls ?? NullMap.MissingColumn;

    private void FillAbsentColumns(EventBatch dst, int n)
    {
        foreach (TraceColumn column in (ReadOnlySpan<TraceColumn>)[TraceColumn.Vcpu, TraceColumn.Va, TraceColumn.Pa, TraceColumn.Value, TraceColumn.User, TraceColumn.Width, TraceColumn.Insns])
        {
            if (Find(column) is not null)
            {
                continue;
            }

            switch (column)
            {
                case TraceColumn.Vcpu: Array.Clear(dst.Vcpu, 0, n); break;
                case TraceColumn.Va: Array.Clear(dst.Va, 0, n); break;
                case TraceColumn.Pa: Array.Clear(dst.Pa, 0, n); break;
                case TraceColumn.Value: Array.Clear(dst.Value, 0, n); break;
                case TraceColumn.User: Array.Clear(dst.User, 0, n); break;
                case TraceColumn.Insns: Array.Clear(dst.Insns, 0, n); break;
                default: dst.Width.AsSpan(0, n).Fill(8); break;
            }
        }
    }
}
