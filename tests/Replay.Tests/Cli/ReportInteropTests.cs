using DuckDB.NET.Data;
using Replay.Engines.Registry;

namespace Replay.Tests.Cli;

/// <summary>
/// Every file the command line writes is plain Parquet another engine reads with the column types SPEC §5 documents:
/// counts int64 (BIGINT), cycles and rates double (DOUBLE), names string (VARCHAR), reason_code INTEGER.
/// </summary>
public sealed class ReportInteropTests : IDisposable
{
    private static readonly HashSet<string> Strings = ["trace", "trace_sha256", "engine", "profile", "phase", "reason", "handler", "name", "metric", "status"];

    private static readonly HashSet<string> Doubles =
    [
        "exit_cycles", "walk_cycles", "mmu_cycles", "overhead_cycles", "overhead_per_kaccess", "guest_cycles", "total_cycles",
        "slowdown", "replay_seconds", "events_per_second", "cycles", "base", "current", "delta", "delta_pct", "limit_pct",
    ];

    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public async Task DuckDB_reads_every_report_file_with_the_documented_types()
    {
        string trace = _d.File("t.pq");
        await Cli.RunAsync("gen", "demand", "-o", trace, "--events", "4000");
        var (code, _, err) = await Cli.RunAsync(trace, "--engine", "all", "--window", "1000", "--out", _d.File("r"));
        Assert.True(code == 0, err);
        (code, _, err) = await Cli.RunAsync("compare", _d.File("r"), _d.File("r"));
        Assert.True(code == 0, err);

        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        var files = Directory.GetFiles(_d.File("r"), "*.parquet").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["compare.parquet", "counters.parquet", "exits.parquet", "summary.parquet", "timeline.parquet", "timeline_exits.parquet", "vcpu_exits.parquet", "vcpus.parquet"], files);
        foreach (var file in files)
        {
            string path = _d.File("r/" + file).Replace("'", "''", StringComparison.Ordinal);
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{path}'))";
            using var r = cmd.ExecuteReader();
            int columns = 0;
            while (r.Read())
            {
                string name = r.GetString(0), type = r.GetString(1);
                string expected = Strings.Contains(name) ? "VARCHAR" : Doubles.Contains(name) ? "DOUBLE" : name == "reason_code" ? "INTEGER" : "BIGINT";
                Assert.True(expected == type, $"{file}: column {name} is {type}, expected {expected}");
                columns++;
            }

            Assert.True(columns >= 4, file);
        }

        using var q = db.CreateCommand();
        string summary = _d.File("r/summary.parquet").Replace("'", "''", StringComparison.Ordinal);
        q.CommandText = $"SELECT count(*) FROM read_parquet('{summary}') WHERE phase = 'all'";
        Assert.Equal(EngineRegistry.All.Count, Convert.ToInt64(q.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)); // one row per registered engine
        q.CommandText = $"SELECT count(*) FROM parquet_kv_metadata('{summary}') WHERE decode(key) IN ('replay.version', 'replay.commit', 'replay.command', 'replay.profile', 'replay.trace.sha256')";
        Assert.Equal(5L, Convert.ToInt64(q.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
    }
}
