using Parquet;
using Replay.Analysis.ParquetIO;
using Parquet.Schema;

namespace Replay.Analysis.Reports;

/// <summary>
/// Reads report files back into rows (for tests, <c>compare</c>, <c>reprice</c>, <c>report</c>, <c>export</c>): files
/// this version writes, files of older versions (a metric column they lack reads as not recorded) and files
/// rewritten by DuckDB, pandas or Spark (OPTIONAL columns, other integer widths). A name or window column that is
/// missing is an error naming it. Every page is checked against the CRC-32 its header stores, where it stores one
/// (<see cref="CheckedParquetFile"/>): a damaged page is a <see cref="ParquetFileException"/> naming the file, the
/// column and the row group.
/// </summary>
public static class ReportReader
{
    public static Task<List<SummaryRow>> ReadSummaryAsync(string path, CancellationToken ct = default) =>
        ReadSummaryAsync(path, ReportMetrics.All, ct);

    public static Task<List<ExitRow>> ReadExitsAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.Exits, ct);

    public static Task<List<TimelineRow>> ReadTimelineAsync(string path, CancellationToken ct = default) =>
        ReadTimelineAsync(path, ReportMetrics.All, ct);

    public static Task<List<CounterRow>> ReadCountersAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.Counters, ct);

    public static Task<List<TimelineExitRow>> ReadTimelineExitsAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.TimelineExits, ct);

    public static Task<List<VcpuRow>> ReadVcpusAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportMetrics.All.VcpusTable, ct);

    public static Task<List<VcpuExitRow>> ReadVcpuExitsAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.VcpuExits, ct);

    public static Task<List<CompareRow>> ReadCompareAsync(string path, CancellationToken ct = default) =>
        ReadAsync(path, ReportSchema.Compare, ct);

    /// <summary>The file's key-value metadata (<c>replay.version</c>, <c>replay.profile</c>, …).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadMetadataAsync(string path, CancellationToken ct = default)
    {
        await using var file = await Open(path, ct).ConfigureAwait(false);
        return new Dictionary<string, string>(file.Reader.CustomMetadata, StringComparer.Ordinal);
    }

    /// <summary>The report schema version in <paramref name="metadata"/>: its <see cref="ReportWriter.SchemaVersionKey"/>, or 1 when it has none.</summary>
    public static int SchemaVersion(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(ReportWriter.SchemaVersionKey, out var v) && int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n : 1;

    internal static Task<List<SummaryRow>> ReadSummaryAsync(string path, MetricSet metrics, CancellationToken ct) =>
        ReadAsync(path, metrics.SummaryTable, ct);

    internal static Task<List<TimelineRow>> ReadTimelineAsync(string path, MetricSet metrics, CancellationToken ct) =>
        ReadAsync(path, metrics.TimelineTable, ct);

    internal static Task<List<VcpuRow>> ReadVcpusAsync(string path, MetricSet metrics, CancellationToken ct) =>
        ReadAsync(path, metrics.VcpusTable, ct);

    private static async Task<List<TRow>> ReadAsync<TRow>(string path, ReportTable<TRow> table, CancellationToken ct)
    {
        var rows = new List<TRow>();
        foreach (var (columns, count) in (await ReadColumnsAsync(path, table, ct).ConfigureAwait(false)).Groups)
        {
            for (int i = 0; i < count; i++)
            {
                rows.Add(table.Create(new RowCursor(columns, i)));
            }
        }

        return rows;
    }

    /// <summary>
    /// The table's columns the file has (in the table's order), and per row group their values as
    /// <see cref="ColumnValues"/> reads them, keyed by column name; for readers that want every column without
    /// knowing the row type (export).
    /// </summary>
    internal static async Task<(IReadOnlyList<string> Present, List<(Dictionary<string, Array> Columns, int Count)> Groups)> ReadColumnsAsync<TRow>(
        string path, ReportTable<TRow> table, CancellationToken ct = default)
    {
        await using var file = await Open(path, ct).ConfigureAwait(false);
        ParquetReader reader = file.Reader;
        var fields = new Dictionary<string, DataField>(StringComparer.Ordinal);
        foreach (var f in reader.Schema.DataFields)
        {
            fields[f.Name] = f;
        }

        var present = new List<ReportColumn<TRow>>();
        foreach (var column in table.Columns)
        {
            if (fields.ContainsKey(column.Name))
            {
                present.Add(column);
            }
            else if (!column.MayBeMissing)
            {
                throw new InvalidDataException($"Report file '{path}' has no column '{column.Name}'.");
            }
        }

        var groups = new List<(Dictionary<string, Array>, int)>();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            file.CheckRowGroup(g);
            using var group = reader.OpenRowGroupReader(g);
            int count = checked((int)group.RowCount);
            var columns = new Dictionary<string, Array>(StringComparer.Ordinal);
            foreach (var column in present)
            {
                try
                {
                    columns[column.Name] = await column.ReadAsync(group, fields[column.Name], count, ct).ConfigureAwait(false);
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"Report file '{path}': {e.Message}.", e);
                }
            }

            groups.Add((columns, count));
        }

        return (present.Select(c => c.Name).ToList(), groups);
    }

    /// <summary>Opens a report file, its magic and footer checked; its pages are checked per row group as they are read.</summary>
    private static Task<CheckedParquetFile> Open(string path, CancellationToken ct) =>
        CheckedParquetFile.OpenAsync(path, $"Report file '{path}'", ct);
}
