namespace Replay.Analysis.Reports;

/// <summary>A report file's layout: its name, its columns in order, and how to rebuild a row from read columns.</summary>
internal sealed class ReportTable<TRow>(string fileName, IReadOnlyList<ReportColumn<TRow>> columns, Func<RowCursor, TRow> create)
{
    public string FileName { get; } = fileName;

    public IReadOnlyList<ReportColumn<TRow>> Columns { get; } = columns.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count() == columns.Count
        ? columns
        : throw new ArgumentException($"{fileName}: two columns share a name.", nameof(columns));

    public TRow Create(RowCursor cursor) => create(cursor);
}

/// <summary>
/// One row of a table being read back: its values by column name, as <see cref="ColumnValues"/> read them. A name
/// or window column that holds a null reads as "" or 0; a metric column that is missing or null is not recorded.
/// </summary>
internal readonly struct RowCursor(IReadOnlyDictionary<string, Array> columns, int row)
{
    public long Long(string name) => ((long?[])columns[name])[row] ?? 0;

    public int Int(string name) => checked((int)Long(name));

    public double Double(string name) => ((double?[])columns[name])[row] ?? 0;

    public long? NullableLong(string name) => ((long?[])columns[name])[row];

    /// <summary>Whether the file has column <paramref name="name"/> (one that may be missing).</summary>
    public bool Has(string name) => columns.ContainsKey(name);

    public string String(string name) => ((string?[])columns[name])[row] ?? "";

    /// <summary>The row's values of <paramref name="layout"/>'s metrics.</summary>
    public MetricValues Metrics(MetricLayout layout)
    {
        var raw = new long[layout.Count];
        var recorded = new bool[layout.Count];
        for (int i = 0; i < raw.Length; i++)
        {
            var m = layout[i];
            switch (columns.GetValueOrDefault(m.Name))
            {
                case long?[] longs when longs[row] is { } v:
                    (raw[i], recorded[i]) = (v, true);
                    break;
                case double?[] doubles when doubles[row] is { } d:
                    (raw[i], recorded[i]) = (BitConverter.DoubleToInt64Bits(d), true);
                    break;
            }
        }

        return new MetricValues(layout, raw, recorded);
    }
}
