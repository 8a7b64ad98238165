using Parquet;
using Parquet.Schema;

namespace Replay.Analysis.Reports;

/// <summary>One Parquet column of a report table: its field, how to write it from rows, how to read it back.</summary>
internal abstract class ReportColumn<TRow>
{
    public abstract DataField Field { get; }

    public string Name => Field.Name;

    public abstract Task WriteAsync(ParquetRowGroupWriter writer, ReadOnlyMemory<TRow> rows, CancellationToken ct);

    /// <summary>Reads <paramref name="count"/> values of <paramref name="field"/> (the file's own field of this name).</summary>
    public abstract Task<Array> ReadAsync(ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct);
}

/// <summary>Factories for the column kinds the reports use: REQUIRED int64, int32, double, string; nullable int64.</summary>
internal static class Column
{
    public static ReportColumn<TRow> Of<TRow, T>(string name, Func<TRow, T> get)
        where T : struct => new Required<TRow, T>(name, get);

    public static ReportColumn<TRow> Nullable<TRow, T>(string name, Func<TRow, T?> get)
        where T : struct => new Optional<TRow, T>(name, get);

    public static ReportColumn<TRow> String<TRow>(string name, Func<TRow, string> get) => new Text<TRow>(name, get);

    private sealed class Required<TRow, T>(string name, Func<TRow, T> get) : ReportColumn<TRow>
        where T : struct
    {
        public override DataField Field { get; } = new DataField<T>(name, nullable: false);

        public override Task WriteAsync(ParquetRowGroupWriter writer, ReadOnlyMemory<TRow> rows, CancellationToken ct)
        {
            var values = new T[rows.Length];
            var span = rows.Span;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = get(span[i]);
            }

            return writer.WriteAsync<T>(Field, values, cancellationToken: ct);
        }

        public override async Task<Array> ReadAsync(ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct)
        {
            var values = new T[count];
            await reader.ReadAsync<T>(field, values.AsMemory(), null, ct).ConfigureAwait(false);
            return values;
        }
    }

    private sealed class Optional<TRow, T>(string name, Func<TRow, T?> get) : ReportColumn<TRow>
        where T : struct
    {
        public override DataField Field { get; } = new DataField<T?>(name, nullable: true);

        public override Task WriteAsync(ParquetRowGroupWriter writer, ReadOnlyMemory<TRow> rows, CancellationToken ct)
        {
            var values = new T?[rows.Length];
            var span = rows.Span;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = get(span[i]);
            }

            return writer.WriteAsync<T>(Field, values, cancellationToken: ct);
        }

        public override async Task<Array> ReadAsync(ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct)
        {
            var values = new T?[count];
            await reader.ReadAsync<T>(field, values.AsMemory(), null, ct).ConfigureAwait(false);
            return values;
        }
    }

    private sealed class Text<TRow>(string name, Func<TRow, string> get) : ReportColumn<TRow>
    {
        public override DataField Field { get; } = new DataField<string>(name, nullable: false);

        public override Task WriteAsync(ParquetRowGroupWriter writer, ReadOnlyMemory<TRow> rows, CancellationToken ct)
        {
            var values = new string[rows.Length];
            var span = rows.Span;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = get(span[i]) ?? throw new InvalidOperationException($"Report column '{Name}' is REQUIRED but row {i} has no value.");
            }

            return writer.WriteAsync(Field, values);
        }

        public override async Task<Array> ReadAsync(ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct)
        {
            var values = new string?[count];
            await reader.ReadAsync(field, values.AsMemory(), null, ct).ConfigureAwait(false);
            return values;
        }
    }
}
