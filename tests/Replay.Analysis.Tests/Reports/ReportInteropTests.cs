using DuckDB.NET.Data;
using Replay.Analysis.Reports;

namespace Replay.Analysis.Tests.Reports;

/// <summary>The reports are plain Parquet: another engine (DuckDB) reads their columns, types and metadata.</summary>
public class ReportInteropTests
{
    [Fact]
    public async Task DuckDB_reads_the_summary_with_SQL_types_and_the_provenance()
    {
        using var dir = new TempDir();
        var tables = ReportBuilder.Build(TestProfiles.Round, [ReportBuilderTests.Trace(reportNative: true)]);
        await ReportWriter.WriteAsync(dir.Path, tables, TestProfiles.Round, new("0.1.0", "deadbeef", "replay t.pq", "abc123"));
        string summary = dir.File(ReportWriter.SummaryFile).Replace("'", "''", StringComparison.Ordinal);

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();

        cmd.CommandText = $"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{summary}'))";
        var types = new Dictionary<string, string>();
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                types[r.GetString(0)] = r.GetString(1);
            }
        }

        Assert.Equal(("VARCHAR", "BIGINT", "DOUBLE", "BIGINT"), (types["engine"], types["accesses"], types["slowdown"], types["psc_hits"]));

        cmd.CommandText = $"SELECT slowdown FROM read_parquet('{summary}') WHERE engine = 'shadow-flush' AND phase = 'all'";
        Assert.Equal(11630.0 / 3420, (double)cmd.ExecuteScalar()!);

        cmd.CommandText = $"SELECT decode(value) FROM parquet_kv_metadata('{summary}') WHERE decode(key) = 'replay.commit'";
        Assert.Equal("deadbeef", cmd.ExecuteScalar());
    }
}
