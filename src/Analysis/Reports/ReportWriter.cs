using System.IO.Compression;
using Parquet;
using Parquet.Schema;
using Replay.Analysis.Costs;
using Replay.Analysis.ParquetIO;

namespace Replay.Analysis.Reports;

/// <summary>
/// Writes the SPEC §5 report files into a folder. Each file carries the provenance metadata and the report schema
/// version (<see cref="SchemaVersionKey"/>). The seven files are written into a staging folder that then replaces the
/// report folder whole, under the folder's lock (<see cref="ReportFolder"/>), so a crash, a kill or a concurrent run
/// never leaves a folder mixing two runs' files. A file added to an existing folder (<c>compare.parquet</c>) is
/// written to a temporary name <c>.FILE.PID.GUID.tmp</c> and renamed; a dead process's temp is removed by the next writer.
/// Every page of every file stores its CRC-32, which <see cref="ReportReader"/> checks.
/// </summary>
public static class ReportWriter
{
    public const string SummaryFile = "summary.parquet";
    public const string ExitsFile = "exits.parquet";
    public const string TimelineFile = "timeline.parquet";
    public const string CountersFile = "counters.parquet";
    public const string TimelineExitsFile = "timeline_exits.parquet";
    public const string CompareFile = "compare.parquet";
    public const string VcpusFile = "vcpus.parquet";
    public const string VcpuExitsFile = "vcpu_exits.parquet";

    /// <summary>The key-value metadata entry every report file carries its schema version in.</summary>
    public const string SchemaVersionKey = "replay.report.version";

    /// <summary>
    /// 2: the metric columns come from <see cref="ReportMetrics"/>, a reader treats a missing metric column as not
    /// recorded, and a column no row records is left out. Files without the key are version 1 (same columns, all
    /// present). Adding a metric does not change the version; removing one or changing a meaning does.
    /// </summary>
    public const int SchemaVersion = 2;

    /// <summary>
    /// Rows per row group: 8Ki, so a table given as a lazy sequence (a timeline of millions of windows) is written
    /// holding one group of rows at a time, about 3 MB, and each column's values of a group (8Ki × 8 bytes) stay under
    /// the runtime's large-object threshold (85,000 bytes), so they die young too. Measured at <c>--window 1</c> on 200k
    /// events: 64Ki-row groups peak at twice the memory (issue 15, item 9). Any reader takes any group size (SPEC §1).
    /// </summary>
    internal const int RowGroupSize = 1 << 13;

    private static readonly ParquetOptions Options = new()
    {
        CompressionMethod = CompressionMethod.Zstd,
        CompressionLevel = CompressionLevel.Optimal, // unset, zstd runs ~40× slower (STYLE.md §8)
    };

    public static Task WriteAsync(string dir, ReportTables tables, CostProfile profile, ReportProvenance provenance, CancellationToken ct = default) =>
        WriteAsync(dir, tables, profile.Json, provenance, ct);

    /// <summary>
    /// Writes a report whose <c>replay.profile</c> is <paramref name="profileJson"/>: a measured report (<c>replay import
    /// xentrace --report</c>) was not priced by a cost profile and says how its cycles were measured instead.
    /// </summary>
    public static async Task WriteAsync(string dir, ReportTables tables, string profileJson, ReportProvenance provenance, CancellationToken ct = default)
    {
        Directory.CreateDirectory(dir);
        var metadata = Metadata(provenance, ("replay.profile", profileJson), ("replay.trace.sha256", provenance.TraceSha256));

        await ReportFolder.ReplaceAsync(dir, async staging =>
        {
            await WriteFileAsync(Path.Combine(staging, tables.Metrics.SummaryTable.FileName), tables.Metrics.SummaryTable, tables.Summary, metadata, ct).ConfigureAwait(false);
            await WriteFileAsync(Path.Combine(staging, ReportSchema.Exits.FileName), ReportSchema.Exits, tables.Exits, metadata, ct).ConfigureAwait(false);
            await WriteFileAsync(Path.Combine(staging, tables.Metrics.TimelineTable.FileName), tables.Metrics.TimelineTable, tables.Timeline, metadata, ct).ConfigureAwait(false);
            await WriteFileAsync(Path.Combine(staging, ReportSchema.Counters.FileName), ReportSchema.Counters, tables.Counters, metadata, ct).ConfigureAwait(false);
            await WriteFileAsync(Path.Combine(staging, ReportSchema.TimelineExits.FileName), ReportSchema.TimelineExits, tables.TimelineExits, metadata, ct).ConfigureAwait(false);
            await WriteFileAsync(Path.Combine(staging, tables.Metrics.VcpusTable.FileName), tables.Metrics.VcpusTable, tables.Vcpus, metadata, ct).ConfigureAwait(false);
            await WriteFileAsync(Path.Combine(staging, ReportSchema.VcpuExits.FileName), ReportSchema.VcpuExits, tables.VcpuExits, metadata, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>A temporary name for <paramref name="fileName"/> in its folder: <c>.FILE.PID.GUID.tmp</c>.</summary>
    public static string TempName(string fileName) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $".{fileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");

    /// <summary>The process that owns a <see cref="TempName"/>, or null for another name.</summary>
    public static int? TempOwner(string tempName)
    {
        if (!tempName.StartsWith('.') || !tempName.EndsWith(".tmp", StringComparison.Ordinal))
        {
            return null;
        }

        string[] parts = tempName[..^".tmp".Length].Split('.');
        return parts.Length >= 4 && int.TryParse(parts[^2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    /// <summary>Writes <c>compare.parquet</c> (temp name, then rename) with the version, commit and command.</summary>
    public static async Task<string> WriteCompareAsync(string dir, List<CompareRow> rows, ReportProvenance provenance, CancellationToken ct = default)
    {
        Directory.CreateDirectory(dir);
        var metadata = Metadata(provenance);
        var (temp, final) = await WriteTempAsync(dir, ReportSchema.Compare, rows, metadata, ct).ConfigureAwait(false);
        File.Move(temp, final, overwrite: true);
        return final;
    }

    private static readonly string VersionText = SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A report file's key-value metadata, in the order written: version, commit and command, then
    /// <paramref name="entries"/>, then the schema version.
    /// </summary>
    private static Dictionary<string, string> Metadata(ReportProvenance provenance, params (string Key, string Value)[] entries)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["replay.version"] = provenance.Version,
            ["replay.commit"] = provenance.Commit,
            ["replay.command"] = provenance.Command,
        };
        foreach (var (key, value) in entries)
        {
            metadata[key] = value;
        }

        metadata[SchemaVersionKey] = VersionText;
        return metadata;
    }

    private static async Task<(string Temp, string Final)> WriteTempAsync<TRow>(
        string dir, ReportTable<TRow> table, IEnumerable<TRow> rows, Dictionary<string, string> metadata, CancellationToken ct)
    {
        string final = Path.Combine(dir, table.FileName);
        string temp = Path.Combine(dir, TempName(table.FileName));
        await WriteFileAsync(temp, table, rows, metadata, ct).ConfigureAwait(false);
        return (temp, final);
    }

    /// <summary>
    /// Writes <paramref name="rows"/> as <paramref name="table"/> to a new file <paramref name="path"/>, flushed to disk;
    /// deleted on failure. Parquet.Net writes a temporary <see cref="TempName"/> beside it, which is copied with a
    /// CRC-32 in every page header (<see cref="PageCrcs"/>, as traces are: Parquet.Net 6.1 cannot store them), so the
    /// report reader finds a damaged page (issue 15). The rows are taken <see cref="RowGroupSize"/> at a time, each group written before the next
    /// is taken, so a lazy sequence is never held whole. A metric column no row records is left out (the rows came
    /// from a report that lacked it), one only some rows record is OPTIONAL: the columns are chosen from the first
    /// group, and in the rare case a later group records a metric differently (a re-priced report with nulls), the
    /// file is written again with the columns of every group combined.
    /// </summary>
    private static async Task WriteFileAsync<TRow>(
        string path, ReportTable<TRow> table, IEnumerable<TRow> rows, Dictionary<string, string> metadata, CancellationToken ct)
    {
        if (!await TryWriteFileAsync(path, table, rows, null, metadata, ct).ConfigureAwait(false))
        {
            var fields = Groups(rows).Select(g => Fields(table, g)).Aggregate((a, b) => Combine(table, a, b));
            await TryWriteFileAsync(path, table, rows, fields, metadata, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes the file with <paramref name="fields"/> (by column; null = the first group's); false, with nothing left at
    /// <paramref name="path"/>, when the fields were the first group's and a later group needs others.
    /// </summary>
    private static async Task<bool> TryWriteFileAsync<TRow>(
        string path, ReportTable<TRow> table, IEnumerable<TRow> rows, DataField?[]? fields, Dictionary<string, string> metadata, CancellationToken ct)
    {
        bool fits = true;
        string raw = Path.Combine(Path.GetDirectoryName(path)!, TempName(Path.GetFileName(path)));
        try
        {
            await using (var stream = new FileStream(raw, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                using var groups = Groups(rows).GetEnumerator();
                groups.MoveNext(); // there is always a first group, empty for no rows
                fields ??= Fields(table, groups.Current);
                var columns = table.Columns.Zip(fields, (c, f) => (Column: c, Field: f)).Where(c => c.Field is not null).ToList();
                var schema = new ParquetSchema(columns.Select(c => (Field)c.Field!).ToArray());
                await using (var writer = await ParquetWriter.CreateAsync(schema, stream, Options, append: false, ct).ConfigureAwait(false))
                {
                    writer.CustomMetadata = metadata;
                    do
                    {
                        TRow[] group = groups.Current;
                        if (group.Length == 0)
                        {
                            break;
                        }

                        if (!Combine(table, fields, Fields(table, group)).SequenceEqual(fields, ReferenceEqualityComparer.Instance))
                        {
                            fits = false;
                            break;
                        }

                        using var rowGroup = writer.CreateRowGroup();
                        foreach (var (column, field) in columns)
                        {
                            ct.ThrowIfCancellationRequested();
                            await column.WriteAsync(rowGroup, field!, group, ct).ConfigureAwait(false);
                        }

                        rowGroup.CompleteValidate();
                        if (group.Length == RowGroupSize)
                        {
                            // More may follow: the rows just written die young, collected before they can age into
                            // the rarely collected generation 2, where a lazy table's groups would pile up until a
                            // full collection (at --window 1, 3× the memory of the default window).
                            GC.Collect(1, GCCollectionMode.Forced, blocking: true);
                        }
                    }
                    while (groups.MoveNext());
                }
            }

            if (fits)
            {
                PageCrcs.Write(raw, path, ct); // flushed to disk; only the copy is kept
            }
        }
        catch
        {
            File.Delete(path);
            throw;
        }
        finally
        {
            File.Delete(raw);
        }

        return fits;
    }

    /// <summary><paramref name="rows"/> in groups of <see cref="RowGroupSize"/>: at least one, the only one empty when there are no rows.</summary>
    private static IEnumerable<TRow[]> Groups<TRow>(IEnumerable<TRow> rows)
    {
        var group = new List<TRow>(rows.TryGetNonEnumeratedCount(out int n) ? Math.Min(n, RowGroupSize) : RowGroupSize);
        bool any = false;
        foreach (var row in rows)
        {
            group.Add(row);
            if (group.Count == RowGroupSize)
            {
                yield return group.ToArray();
                group.Clear();
                any = true;
            }
        }

        if (group.Count > 0 || !any)
        {
            yield return group.ToArray();
        }
    }

    /// <summary>Each column's field for <paramref name="group"/> (null: no row of it records the column).</summary>
    private static DataField?[] Fields<TRow>(ReportTable<TRow> table, TRow[] group) => table.Columns.Select(c => c.FieldFor(group)).ToArray();

    /// <summary>Each column's field for two groups' rows together.</summary>
    private static DataField?[] Combine<TRow>(ReportTable<TRow> table, DataField?[] a, DataField?[] b) =>
        table.Columns.Select((c, i) => c.Combine(a[i], b[i])).ToArray();
}
