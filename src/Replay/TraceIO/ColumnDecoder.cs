using System.Numerics;
using System.Runtime.CompilerServices;
using Parquet;
using ColumnChunk = Parquet.Meta.ColumnChunk;
using Parquet.Schema;
using Replay.Engines.Trace;

namespace Replay.TraceIO;

/// <summary>
/// Decodes one trace column of one row group into its <see cref="EventBatch"/> array; the columns of a row group
/// decode in parallel, each on its own decoder.
/// A REQUIRED, PLAIN chunk of exactly the batch's type (what <see cref="TraceWriter"/> writes) goes through
/// <see cref="DirectChunkReader"/> straight into the batch, by positional reads of the file's one handle; otherwise
/// Parquet.Net decodes it on the trace's one <see cref="ParquetReader"/> (one footer parse), at a stream position of
/// this column's own and from the chunk bytes <see cref="Load"/> read and checked (<see cref="SharedFileStream.Use"/>),
/// so columns decode in parallel and the file is opened once whatever its columns: an OPTIONAL column of the batch's
/// type raw, with its nulls then spread out in place, anything else into a reused scratch buffer that is then
/// converted. Memory follows the row-group size, not the trace length. Only one decode runs on a decoder at a time.
/// </summary>
internal sealed class ColumnDecoder : IAsyncDisposable
{
    private readonly string _path;
    private readonly DataField _field;
    private readonly ColumnChunk?[] _chunks;
    private readonly DirectChunkReader _direct;
    private readonly ParquetFile _file;
    private int[] _levels = [];
    private bool[] _nulls = [];
    private bool _hasNulls;
    private Array? _scratch;
    private Array? _plain;

    /// <summary>
    /// A decoder of <paramref name="column"/>, <paramref name="field"/> in the footer's schema, with its chunk metadata
    /// in every row group (<paramref name="chunks"/>), read from <paramref name="file"/> (owned by the caller).
    /// </summary>
    public ColumnDecoder(ParquetFile file, ColumnChunk?[] chunks, DataField field, TraceColumn column)
    {
        _path = file.Path;
        _file = file;
        _field = field;
        _chunks = chunks;
        _direct = new DirectChunkReader(file.Handle);
        Column = column;
    }

    public TraceColumn Column { get; }

    /// <summary>Rows of the last decoded group with no value (va, pa and value only; other columns default or fail).</summary>
    public NullMap Nulls => _hasNulls ? new NullMap(false, _nulls) : default;

    /// <summary>
    /// Reads this column's chunk of <paramref name="rowGroup"/> and checks its pages against the footer's
    /// <paramref name="rows"/> (<see cref="DirectChunkReader.Load"/>); throws a <see cref="TraceFormatException"/>
    /// naming the column when they disagree. Called before <see cref="DecodeAsync(int, EventBatch, int, CancellationToken)"/>.
    /// </summary>
    public void Load(int rowGroup, long rows, long firstRow, long fileLength)
    {
        string? problem = _chunks[rowGroup] is { } chunk ? _direct.Load(chunk, rows, fileLength) : "no column chunk in the footer";
        if (problem is not null)
        {
            throw new TraceFormatException(_path, firstRow, Column.Name(), $"row group {rowGroup}: {problem}");
        }
    }

    /// <summary>Fills rows [0, n) of this column in <paramref name="dst"/>; returns the first bad value, if any.</summary>
    public async Task<RowError?> DecodeAsync(int rowGroup, EventBatch dst, int n, CancellationToken ct)
    {
        _hasNulls = false;
        if (TryDirect(_chunks[rowGroup], dst, n, out RowError? error))
        {
            return error;
        }

        using SharedFileStream.Scope own = _file.Stream.Use(_direct.LoadedStart, _direct.Loaded);
        return await DecodeAsync(_file.Reader.OpenRowGroupReader(rowGroup), _field, dst, n, ct);
    }

    private async Task<RowError?> DecodeAsync(ParquetRowGroupReader rg, DataField field, EventBatch dst, int n, CancellationToken ct)
    {
        Type type = field.ClrType;
        return type == typeof(bool) ? await ReadSameTypeAsync(rg, field, dst.User, n, false, ct)
            : type == typeof(byte) ? await DecodeAsync<byte>(rg, field, dst, n, ct)
            : type == typeof(ushort) ? await DecodeAsync<ushort>(rg, field, dst, n, ct)
            : type == typeof(ulong) ? await DecodeAsync<ulong>(rg, field, dst, n, ct)
            : type == typeof(long) ? await DecodeAsync<long>(rg, field, dst, n, ct)
            : type == typeof(int) ? await DecodeAsync<int>(rg, field, dst, n, ct)
            : type == typeof(uint) ? await DecodeAsync<uint>(rg, field, dst, n, ct)
            : type == typeof(short) ? await DecodeAsync<short>(rg, field, dst, n, ct)
            : await DecodeAsync<sbyte>(rg, field, dst, n, ct);
    }

    public ValueTask DisposeAsync()
    {
        _direct.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The fast path for chunks of exactly the batch's type in the shape <see cref="TraceWriter"/> writes.
    /// Anything it declines or fails on is read again by Parquet.Net, whose verdict then stands.
    /// </summary>
    private bool TryDirect(ColumnChunk? chunk, EventBatch dst, int n, out RowError? error)
    {
        error = null;
        Array target = Target(dst);
        if (target.GetType().GetElementType() != _field.ClrType || chunk is null)
        {
            return false;
        }

        try
        {
            return _direct.TryRead(chunk, _field, Column, target, n, out error);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            error = null;
            return false;
        }
    }

    private async Task<RowError?> DecodeAsync<T>(ParquetRowGroupReader rg, DataField field, EventBatch dst, int n, CancellationToken ct)
        where T : unmanaged, IBinaryInteger<T>
    {
        Array target = Target(dst);
        if (target.GetType() == typeof(T[]))
        {
            T fill = Column == TraceColumn.Width ? T.CreateTruncating(8) : T.Zero;
            return await ReadSameTypeAsync(rg, field, Unsafe.As<T[]>(target), n, fill, ct);
        }

        T?[] scratch = _scratch is T?[] s && s.Length >= n ? s : new T?[n];
        _scratch = scratch;
        if (field.IsNullable)
        {
            await rg.ReadAsync(field, scratch.AsMemory(0, n), cancellationToken: ct);
        }
        else
        {
            // A REQUIRED column of another type (e.g. a footer that calls the time column unsigned) is read into
            // a buffer of its own type: Parquet.Net 6.1 read into nullable memory leaves rows null from its second
            // page on in some runs and not in others, so the same file replayed or refused by chance.
            T[] plain = _plain is T[] p && p.Length >= n ? p : new T[n];
            _plain = plain;
            await rg.ReadAsync(field, plain.AsMemory(0, n), cancellationToken: ct);
            for (int i = 0; i < n; i++)
            {
                scratch[i] = plain[i];
            }
        }

        return ColumnConverter.Convert<T>(this, scratch.AsSpan(0, n), dst);
    }

    private async Task<RowError?> ReadSameTypeAsync<T>(ParquetRowGroupReader rg, DataField field, T[] target, int n, T fill, CancellationToken ct)
        where T : struct
    {
        if (!field.IsNullable)
        {
            await rg.ReadAsync(field, target.AsMemory(0, n), cancellationToken: ct);
            return null;
        }

        if (_levels.Length < n)
        {
            _levels = new int[n];
        }

        await rg.ReadRawAsync(field, target.AsMemory(0, n), _levels.AsMemory(0, n), null, ct);
        return SpreadNulls(target.AsSpan(0, n), _levels.AsSpan(0, n), fill);
    }

    /// <summary>
    /// A raw read packs the present values at the front; this moves each to its row (back to front, so in
    /// place) and gives null rows <paramref name="fill"/>.
    /// </summary>
    private RowError? SpreadNulls<T>(Span<T> values, ReadOnlySpan<int> levels, T fill)
    {
        int present = levels.Length - levels.Count(0);
        if (present == levels.Length)
        {
            return null;
        }

        if (Column is TraceColumn.Op or TraceColumn.Time)
        {
            return NullError(levels.IndexOf(0));
        }

        Span<bool> nulls = MarkNulls(levels.Length);
        int next = present - 1;
        for (int i = levels.Length - 1; i >= 0; i--)
        {
            bool isNull = levels[i] == 0;
            values[i] = isNull ? fill : values[next--];
            if (!nulls.IsEmpty)
            {
                nulls[i] = isNull;
            }
        }

        return null;
    }

    /// <summary>For va, pa and value, a per-row null flag buffer to fill; empty for the other columns.</summary>
    internal Span<bool> MarkNulls(int n)
    {
        if (Column is not (TraceColumn.Va or TraceColumn.Pa or TraceColumn.Value))
        {
            return default;
        }

        if (_nulls.Length < n)
        {
            _nulls = new bool[n];
        }

        _hasNulls = true;
        return _nulls.AsSpan(0, n);
    }

    internal RowError NullError(int index) => new(index, Column, Column == TraceColumn.Op
        ? "null, but every row needs an op"
        : "null, but a trace with times needs one on every row");

    private Array Target(EventBatch dst) => Column switch
    {
        TraceColumn.Op => dst.Op,
        TraceColumn.Vcpu => dst.Vcpu,
        TraceColumn.Va => dst.Va,
        TraceColumn.Pa => dst.Pa,
        TraceColumn.Value => dst.Value,
        TraceColumn.User => dst.User,
        TraceColumn.Width => dst.Width,
        TraceColumn.Insns => dst.Insns,
        _ => dst.Time,
    };
}
