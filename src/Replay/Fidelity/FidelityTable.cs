using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Schema;

namespace Replay.Fidelity;

/// <summary>Writes the fidelity table as Parquet (<c>fidelity.parquet</c>, temp name then rename) and as markdown.</summary>
public static class FidelityTable
{
    public const string ParquetFile = "fidelity.parquet";
    public const string MarkdownFile = "fidelity.md";

    private static readonly ParquetOptions Options = new()
    {
        CompressionMethod = CompressionMethod.Zstd,
        CompressionLevel = System.IO.Compression.CompressionLevel.Optimal,
    };

    private static readonly DataField<string> Effect = new("effect");
    private static readonly DataField<string> Source = new("source");
    private static readonly DataField<string> Setting = new("setting");
    private static readonly DataField<string> Published = new("published");
    private static readonly DataField<double> PublishedLow = new("published_low");
    private static readonly DataField<double> PublishedHigh = new("published_high");
    private static readonly DataField<double> Measured = new("measured");
    private static readonly DataField<string> Unit = new("unit");
    private static readonly DataField<bool> DirectionOk = new("direction_ok");
    private static readonly DataField<double> Ratio = new("ratio");
    private static readonly DataField<bool> Within2x = new("within_2x");
    private static readonly DataField<double> Ceiling = new("ceiling");

    public static async Task WriteParquetAsync(string dir, IReadOnlyList<FidelityRow> rows, IReadOnlyDictionary<string, string> metadata, CancellationToken ct = default)
    {
        Directory.CreateDirectory(dir);
        string final = Path.Combine(dir, ParquetFile);
        string temp = Path.Combine(dir, $".{ParquetFile}.{Guid.NewGuid():N}.tmp");
        var schema = new ParquetSchema(Effect, Source, Setting, Published, PublishedLow, PublishedHigh, Measured, Unit, DirectionOk, Ratio, Within2x, Ceiling);
        try
        {
            await using (var stream = File.Create(temp))
            {
                await using var writer = await ParquetWriter.CreateAsync(schema, stream, Options, append: false, ct).ConfigureAwait(false);
                writer.CustomMetadata = new Dictionary<string, string>(metadata);
                using var g = writer.CreateRowGroup();
                await g.WriteAsync(Effect, rows.Select(r => r.Effect).ToArray()).ConfigureAwait(false);
                await g.WriteAsync(Source, rows.Select(r => r.Source).ToArray()).ConfigureAwait(false);
                await g.WriteAsync(Setting, rows.Select(r => r.Setting).ToArray()).ConfigureAwait(false);
                await g.WriteAsync(Published, rows.Select(r => r.Published).ToArray()).ConfigureAwait(false);
                await g.WriteAsync<double>(PublishedLow, rows.Select(r => r.PublishedLow).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                await g.WriteAsync<double>(PublishedHigh, rows.Select(r => r.PublishedHigh).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                await g.WriteAsync<double>(Measured, rows.Select(r => r.Measured).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                await g.WriteAsync(Unit, rows.Select(r => r.Unit).ToArray()).ConfigureAwait(false);
                await g.WriteAsync<bool>(DirectionOk, rows.Select(r => r.DirectionOk).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                await g.WriteAsync<double>(Ratio, rows.Select(r => r.Ratio).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                await g.WriteAsync<bool>(Within2x, rows.Select(r => r.Within2x).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                await g.WriteAsync<double>(Ceiling, rows.Select(r => r.Ceiling).ToArray(), cancellationToken: ct).ConfigureAwait(false);
                g.CompleteValidate();
            }

            File.Move(temp, final, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Reads a fidelity table back: per effect, whether its direction was right and whether it was within 2×.</summary>
    public static async Task<Dictionary<string, (bool DirectionOk, bool Within2x)>> ReadBandsAsync(string path, CancellationToken ct = default)
    {
        await using var reader = await ParquetReader.CreateAsync(path, null, ct).ConfigureAwait(false);
        var fields = reader.Schema.DataFields.ToDictionary(f => f.Name);
        var bands = new Dictionary<string, (bool, bool)>(StringComparer.Ordinal);
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            int n = checked((int)group.RowCount);
            var effects = new string?[n];
            var direction = new bool?[n];
            var within = new bool?[n];
            await group.ReadAsync(fields[Effect.Name], effects.AsMemory(), null, ct).ConfigureAwait(false);
            await group.ReadAsync<bool>(fields[DirectionOk.Name], direction.AsMemory(), null, ct).ConfigureAwait(false);
            await group.ReadAsync<bool>(fields[Within2x.Name], within.AsMemory(), null, ct).ConfigureAwait(false);
            for (int i = 0; i < n; i++)
            {
                bands[effects[i] ?? ""] = (direction[i] ?? false, within[i] ?? false);
            }
        }

        return bands;
    }

    /// <summary>The table as GitHub markdown: one row per effect; its ceiling (<see cref="Effect.Ceiling"/>) last, in the measured number's unit.</summary>
    public static string Markdown(IReadOnlyList<FidelityRow> rows)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| effect | source | setting | published | measured | direction | measured / published | within 2× | ceiling |");
        sb.AppendLine("|---|---|---|---|---:|:---:|---:|:---:|---:|");
        foreach (var r in rows)
        {
            string ratio = double.IsNaN(r.Ratio) ? "–" : r.Ratio.ToString("0.00", c);
            string measured = Number(r.Measured, c);
            string ceiling = double.IsNaN(r.Ceiling) ? "–" : Number(r.Ceiling, c);
            sb.AppendLine(string.Create(c, $"| `{r.Effect}` | {r.Source} | {r.Setting} | {r.Published} | {measured} {r.Unit} | {(r.DirectionOk ? "ok" : "WRONG")} | {ratio} | {(r.Within2x ? "yes" : "NO")} | {ceiling} |"));
        }

        return sb.ToString();
    }

    // 24 references, but 9.00×, not 9×.
    private static string Number(double v, CultureInfo c) => v.ToString(v == Math.Round(v) ? "0" : "0.00", c);
}
