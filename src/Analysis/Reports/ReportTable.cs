using Parquet.Schema;

namespace Replay.Analysis.Reports;

/// <summary>A report file's layout: its name, its columns in order, and how to rebuild a row from read columns.</summary>
internal sealed class ReportTable<TRow>(string fileName, ReportColumn<TRow>[] columns, Func<RowCursor, TRow> create)
{
    public string FileName { get; } = fileName;

    public IReadOnlyList<ReportColumn<TRow>> Columns { get; } = columns;

    public ParquetSchema Schema { get; } = new(columns.Select(c => (Field)c.Field).ToArray());

    public TRow Create(RowCursor cursor) => create(cursor);
}

/// <summary>One row of a table being read back: its values by column name.</summary>
internal readonly struct RowCursor(IReadOnlyDictionary<string, Array> columns, int row)
{
    public long Long(string name) => ((long[])columns[name])[row];

    public int Int(string name) => ((int[])columns[name])[row];

    public double Double(string name) => ((double[])columns[name])[row];

    public long? NullableLong(string name) => ((long?[])columns[name])[row];

    public string String(string name) => ((string?[])columns[name])[row] ?? "";
}
