using DuckDB.NET.Data;
using Replay.Analysis.Reports;

namespace Replay.Analysis.Tests.Reports;

/// <summary>Rewrites report folders through DuckDB, as an analyst's <c>COPY … TO … (FORMAT PARQUET)</c> would.</summary>
internal static class DuckDb
{
    /// <summary>
    /// Every <c>.parquet</c> of <paramref name="from"/> into <paramref name="to"/> as <c>SELECT {columns(file)} FROM file
    /// {where}</c>: DuckDB writes every column OPTIONAL and keeps the types the query gives; the key-value metadata
    /// (which DuckDB does not copy by itself) is carried with <c>KV_METADATA</c>.
    /// </summary>
    public static async Task RewriteAsync(string from, string to, Func<string, string>? columns = null, string where = "")
    {
        Directory.CreateDirectory(to);
        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        foreach (string source in Directory.GetFiles(from, "*.parquet").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(source);
            var meta = await ReportReader.ReadMetadataAsync(source);
            string kv = string.Join(", ", meta.Select(e => $"{Sql(e.Key)}: {Sql(e.Value)}"));
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"COPY (SELECT {columns?.Invoke(name) ?? "*"} FROM read_parquet({Sql(source)}) {where}) " +
                $"TO {Sql(Path.Combine(to, name))} (FORMAT PARQUET, KV_METADATA {{{kv}}})";
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>The summary's columns but <paramref name="replace"/> (a DuckDB <c>* REPLACE (…)</c> or <c>* EXCLUDE (…)</c>); other files as they are.</summary>
    public static Func<string, string> Summary(string replace) => file => file == ReportWriter.SummaryFile ? replace : "*";

    private static string Sql(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";
}
