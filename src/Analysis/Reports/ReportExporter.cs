using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Replay.Analysis.Reports;

/// <summary>The text formats a report can be exported to.</summary>
public enum ExportFormat
{
    Csv,
    Json,
}

/// <summary>
/// Exports the report files of a folder to CSV (RFC 4180, header row, invariant culture, non-finite doubles as
/// <c>inf</c>/<c>-inf</c>/<c>nan</c> as pandas reads them, a null <c>time_ns</c> or a value not recorded as an empty
/// field) or JSON (one array of row objects per file, as pandas' <c>orient="records"</c>; non-finite doubles and
/// values not recorded as <c>null</c>), column for column as SPEC §5 lists them, less any metric column the file
/// does not have. For tools and machines without a Parquet reader. Each exported file gets a sidecar
/// <c>&lt;name&gt;.meta.json</c> holding the Parquet file's key-value metadata (version, commit, command, profile, trace
/// hash, report version) exactly, so the provenance SPEC §5 puts in every report survives the export.
/// </summary>
public static class ReportExporter
{
    /// <summary>Suffix of the provenance sidecar written beside each exported file (<c>summary.meta.json</c>).</summary>
    public const string MetaSuffix = ".meta.json";

    /// <summary>Writes one text file and its provenance sidecar per report file present in <paramref name="reportDir"/>; returns their paths.</summary>
    public static async Task<IReadOnlyList<string>> ExportAsync(string reportDir, ExportFormat format, string outDir, CancellationToken ct = default)
    {
        Directory.CreateDirectory(outDir);
        var written = new List<string?>
        {
            await ExportAsync(ReportSchema.Summary, reportDir, format, outDir, ct).ConfigureAwait(false),
            await ExportAsync(ReportSchema.Exits, reportDir, format, outDir, ct).ConfigureAwait(false),
            await ExportAsync(ReportSchema.Timeline, reportDir, format, outDir, ct).ConfigureAwait(false),
            await ExportAsync(ReportSchema.Counters, reportDir, format, outDir, ct).ConfigureAwait(false),
            await ExportAsync(ReportSchema.TimelineExits, reportDir, format, outDir, ct).ConfigureAwait(false),
            await ExportAsync(ReportSchema.Vcpus, reportDir, format, outDir, ct).ConfigureAwait(false),
            await ExportAsync(ReportSchema.VcpuExits, reportDir, format, outDir, ct).ConfigureAwait(false),
        };
        return written.OfType<string>().SelectMany(p => (string[])[p, MetaPath(p)]).ToList();
    }

    /// <summary>The report file names an export looks for.</summary>
    public static IReadOnlyList<string> FileNames { get; } =
        [ReportSchema.Summary.FileName, ReportSchema.Exits.FileName, ReportSchema.Timeline.FileName, ReportSchema.Counters.FileName,
            ReportSchema.TimelineExits.FileName, ReportSchema.Vcpus.FileName, ReportSchema.VcpuExits.FileName];

    private static async Task<string?> ExportAsync<TRow>(ReportTable<TRow> table, string reportDir, ExportFormat format, string outDir, CancellationToken ct)
    {
        string source = Path.Combine(reportDir, table.FileName);
        if (!File.Exists(source))
        {
            return null;
        }

        // Only the columns the file has: an older report's export does not invent the metrics it never recorded.
        var (names, groups) = await ReportReader.ReadColumnsAsync(source, table, ct).ConfigureAwait(false);
        string target = Path.Combine(outDir, Path.ChangeExtension(table.FileName, format == ExportFormat.Csv ? ".csv" : ".json"));
        string temp = target + ".tmp";
        await using (var stream = File.Create(temp))
        {
            if (format == ExportFormat.Csv)
            {
                await using var w = new StreamWriter(stream, new UTF8Encoding(false));
                await w.WriteLineAsync(string.Join(',', names)).ConfigureAwait(false);
                foreach (var (columns, count) in groups)
                {
                    for (int i = 0; i < count; i++)
                    {
                        await w.WriteLineAsync(string.Join(',', names.Select(n => CsvField(columns[n], i)))).ConfigureAwait(false);
                    }
                }
            }
            else
            {
                await using var w = new Utf8JsonWriter(stream);
                w.WriteStartArray();
                foreach (var (columns, count) in groups)
                {
                    for (int i = 0; i < count; i++)
                    {
                        w.WriteStartObject();
                        foreach (var n in names)
                        {
                            w.WritePropertyName(n);
                            JsonValue(w, columns[n], i);
                        }

                        w.WriteEndObject();
                    }
                }

                w.WriteEndArray();
            }
        }

        File.Move(temp, target, overwrite: true);
        await WriteMetaAsync(source, MetaPath(target), ct).ConfigureAwait(false);
        return target;
    }

    private static string MetaPath(string exported) => Path.ChangeExtension(exported, null) + MetaSuffix;

    /// <summary>The key-value metadata of <paramref name="source"/> as <c>{"file": ..., "metadata": {key: value}}</c>, keys sorted.</summary>
    private static async Task WriteMetaAsync(string source, string target, CancellationToken ct)
    {
        var metadata = await ReportReader.ReadMetadataAsync(source, ct).ConfigureAwait(false);
        string temp = target + ".tmp";
        await using (var stream = File.Create(temp))
        {
            await using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("file", Path.GetFileName(source));
            w.WriteStartObject("metadata");
            foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.WriteString(key, value);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        File.Move(temp, target, overwrite: true);
    }

    private static string CsvField(Array column, int i) => column switch
    {
        long?[] n => n[i]?.ToString(CultureInfo.InvariantCulture) ?? "",
        double?[] d => d[i] is not { } v ? ""
            : double.IsNaN(v) ? "nan" : double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf"
            : v.ToString("R", CultureInfo.InvariantCulture),
        string?[] s => Quote(s[i] ?? ""),
        _ => throw new InvalidDataException($"Unexpected report column type {column.GetType().Name}."),
    };

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") < 0 && s.Trim() == s ? s : "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static void JsonValue(Utf8JsonWriter w, Array column, int i)
    {
        switch (column)
        {
            case long?[] n when n[i] is { } v:
                w.WriteNumberValue(v);
                break;
            case double?[] d when d[i] is { } v && double.IsFinite(v):
                w.WriteNumberValue(v);
                break;
            case long?[] or double?[]:
                w.WriteNullValue();
                break;
            case string?[] s:
                w.WriteStringValue(s[i] ?? "");
                break;
            default:
                throw new InvalidDataException($"Unexpected report column type {column.GetType().Name}.");
        }
    }
}
