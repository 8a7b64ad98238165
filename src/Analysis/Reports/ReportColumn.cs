using Parquet;
using Parquet.Schema;

namespace Replay.Analysis.Reports;

/// <summary>
/// One Parquet column of a report table: how it is written from rows and read back. Every column reads through
/// <see cref="ColumnValues"/> into <c>long?[]</c>, <c>double?[]</c> or <c>string?[]</c>, so files rewritten by other
/// tools load too.
/// </summary>
internal abstract class ReportColumn<TRow>(string name)
{
    public string Name { get; } = name;

    /// <summary>Whether a file may lack the column (a metric it does not record); a name or window column may not.</summary>
    public virtual bool MayBeMissing => false;

    /// <summary>The field to write for <paramref name="rows"/>, or null to leave the column out (no row records it).</summary>
    public abstract DataField? FieldFor(IReadOnlyList<TRow> rows);

    /// <summary>The field for two sets of rows together, given each one's <see cref="FieldFor"/>; a column whose field never varies keeps it.</summary>
    public virtual DataField? Combine(DataField? a, DataField? b) => a;

    public abstract Task WriteAsync(ParquetRowGroupWriter writer, DataField field, ReadOnlyMemory<TRow> rows, CancellationToken ct);

    /// <summary>Reads <paramref name="count"/> values of <paramref name="field"/> (the file's own field of this name).</summary>
    public abstract Task<Array> ReadAsync(ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct);

    protected static T[] Values<T>(ReadOnlyMemory<TRow> rows, Func<TRow, T> get)
    {
        var values = new T[rows.Length];
        var span = rows.Span;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = get(span[i]);
        }

        return values;
    }
}

/// <summary>The name, window and long-form columns (SPEC §5): REQUIRED int64, int32, double, string; nullable int64.</summary>
internal static class Column
{
    public static ReportColumn<TRow> Long<TRow>(string name, Func<TRow, long> get) => new Fixed<TRow, long>(name, get);

    public static ReportColumn<TRow> Int<TRow>(string name, Func<TRow, int> get) => new Fixed<TRow, int>(name, get);

    public static ReportColumn<TRow> Double<TRow>(string name, Func<TRow, double> get) => new Fixed<TRow, double>(name, get);

    public static ReportColumn<TRow> NullableLong<TRow>(string name, Func<TRow, long?> get) => new NullableInt64<TRow>(name, get);

    /// <summary>A nullable int64 column added after files without it were written: a file may lack it (read as null).</summary>
    public static ReportColumn<TRow> AddedLong<TRow>(string name, Func<TRow, long?> get) => new NullableInt64<TRow>(name, get, mayBeMissing: true);

    public static ReportColumn<TRow> String<TRow>(string name, Func<TRow, string> get) => new Text<TRow>(name, get);

    internal static async Task<Array> ReadNumbersAsync(Type type, ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct) =>
        type == typeof(double)
            ? await ColumnValues.ReadDoublesAsync(reader, field, count, ct).ConfigureAwait(false)
            : await ColumnValues.ReadIntegersAsync(reader, field, count, ct).ConfigureAwait(false);

    private sealed class Fixed<TRow, T>(string name, Func<TRow, T> get) : ReportColumn<TRow>(name)
        where T : struct
    {
        private readonly DataField _field = new DataField<T>(name, nullable: false);

        public override DataField FieldFor(IReadOnlyList<TRow> rows) => _field;

        public override Task WriteAsync(ParquetRowGroupWriter writer, DataField field, ReadOnlyMemory<TRow> rows, CancellationToken ct) =>
            writer.WriteAsync<T>(field, Values(rows, get), cancellationToken: ct);

        public override Task<Array> ReadAsync(ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct) =>
            ReadNumbersAsync(typeof(T), reader, field, count, ct);
    }

    private sealed class NullableInt64<TRow>(string name, Func<TRow, long?> get, bool mayBeMissing = false) : ReportColumn<TRow>(name)
    {
        private readonly DataField _field = new DataField<long?>(name, nullable: true);

        public override bool MayBeMissing => mayBeMissing;

        public override DataField FieldFor(IReadOnlyList<TRow> rows) => _field;

        public override Task WriteAsync(ParquetRowGroupWriter writer, DataField field, ReadOnlyMemory<TRow> rows, CancellationToken ct) =>
            writer.WriteAsync<long>(field, Values(rows, get), cancellationToken: ct);

        public override async Task<Array> ReadAsync(ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct) =>
            await ColumnValues.ReadIntegersAsync(reader, field, count, ct).ConfigureAwait(false);
    }

    private sealed class Text<TRow>(string name, Func<TRow, string> get) : ReportColumn<TRow>(name)
    {
        private readonly DataField _field = new DataField<string>(name, nullable: false);

        public override DataField FieldFor(IReadOnlyList<TRow> rows) => _field;

        public override Task WriteAsync(ParquetRowGroupWriter writer, DataField field, ReadOnlyMemory<TRow> rows, CancellationToken ct)
        {
            var values = Values(rows, get);
            int missing = Array.IndexOf(values, null);
            return missing < 0 ? writer.WriteAsync(field, values)
                : throw new InvalidOperationException($"Report column '{Name}' is REQUIRED but row {missing} has no value.");
        }

        public override async Task<Array> ReadAsync(ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct) =>
            await ColumnValues.ReadStringsAsync(reader, field, count, ct).ConfigureAwait(false);
    }
}
