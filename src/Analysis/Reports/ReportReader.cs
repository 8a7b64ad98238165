using Parquet;
using Parquet.Schema;

namespace Replay.Analysis.Reports;

/// <summary>Reads report files written by <see cref="ReportWriter"/> back into rows (for tests, <c>compare</c>, <c>reprice</c>).</summary>
public static class ReportReader
{
    public static Task<List<SummaryRow>> ReadSummaryAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.Summary, ct);

    public static Task<List<ExitRow>> ReadExitsAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.Exits, ct);

    public static Task<List<TimelineRow>> ReadTimelineAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.Timeline, ct);

    public static Task<List<CounterRow>> ReadCountersAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.Counters, ct);

    public static Task<List<TimelineExitRow>> ReadTimelineExitsAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.TimelineExits, ct);

    public static Task<List<CompareRow>> ReadCompareAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.Compare, ct);

    /// <summary>The file's key-value metadata (<c>replay.version</c>, <c>replay.profile</c>, …).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadMetadataAsync(string path, CancellationToken ct = default)
    {
        await using var reader = await ParquetReader.CreateAsync(path, null, ct).ConfigureAwait(false);
        return new Dictionary<string, string>(reader.CustomMetadata, StringComparer.Ordinal);
    }

    private static async Task<List<TRow>> ReadAsync<TRow>(string path, ReportTable<TRow> table, CancellationToken ct)
    {
        var rows = new List<TRow>();
        foreach (var (columns, count) in await ReadColumnsAsync(path, table, ct).ConfigureAwait(false))
        {
            for (int i = 0; i < count; i++)
            {
                rows.Add(table.Create(new RowCursor(columns, i)));
            }
        }

        return rows;
    }

    /// <summary>
    /// The table's columns as typed arrays (long[], int[], double[], long?[], string[]), one dictionary per row
    /// group, keyed by column name; for readers that want every column without knowing the row type (export).
    /// </summary>
    internal static async Task<List<(Dictionary<string, Array> Columns, int Count)>> ReadColumnsAsync<TRow>(string path, ReportTable<TRow> table, CancellationToken ct = default)
    {
        await using var reader = await ParquetReader.CreateAsync(path, null, ct).ConfigureAwait(false);
        var fields = new Dictionary<string, DataField>(StringComparer.Ordinal);
        foreach (var f in reader.Schema.DataFields)
        {
            fields[f.Name] = f;
        }

        var groups = new List<(Dictionary<string, Array>, int)>();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            int count = checked((int)group.RowCount);
            var columns = new Dictionary<string, Array>(StringComparer.Ordinal);
            foreach (var column in table.Columns)
            {
                var field = fields.GetValueOrDefault(column.Name)
                    ?? throw new InvalidDataException($"Report file '{path}' has no column '{column.Name}'.");
                columns[column.Name] = await column.ReadAsync(group, field, count, ct).ConfigureAwait(false);
            }

            groups.Add((columns, count));
        }

        return groups;
    }
}
