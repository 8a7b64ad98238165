using DuckDB.NET.Data;

namespace Replay.Tests.Sweep;

/// <summary>Reads a sweep's dataset back with DuckDB, as a user would: one table over every cell's file.</summary>
internal static class SweepDataset
{
    /// <summary>The grid the tests run: 2 traces × 3 engine configurations × 2 profiles = 12 cells.</summary>
    public static readonly string[] GridArgs =
    [
        "gen:ctxswitch?events=20000&seed=1", "gen:demand?events=20000&seed=2",
        "--engine", "shadow-cached:personality=xen|kvm", "--engine", "ept",
        "--profile", "skylake", "--profile", "nehalem",
    ];

    public static readonly string[] Engines = ["ept", "shadow-cached", "shadow-cached:personality=kvm"];
    public static readonly string[] Profiles = ["nehalem", "skylake"];
    public static readonly string[] Traces = ["ctxswitch.events-20000.seed-1.pq", "demand.events-20000.seed-2.pq"];

    /// <summary>Rows of <c>read_parquet('DIR/**/FILE', hive_partitioning=true)</c> for a query over table <c>t</c>.</summary>
    public static List<object?[]> Query(string dir, string file, string select)
    {
        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        string glob = Path.Combine(dir, "**", file).Replace("'", "''", StringComparison.Ordinal);
        cmd.CommandText = $"WITH t AS (SELECT * FROM read_parquet('{glob}', hive_partitioning=true)) {select}";
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < r.FieldCount; i++)
            {
                row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>
    /// The checks every finished 12-cell dataset passes: DuckDB unions every cell's summary into one table with one row
    /// per cell and phase, the partition values decode to the columns' own values, and the other files union too.
    /// </summary>
    public static async Task AssertCompleteAsync(string dir)
    {
        // Expected rows: each cell's own summary, read by replay's reader (phase 'all' plus one per mark label).
        var expected = new List<(string Engine, string Profile, string Trace, string Phase, long Exits)>();
        foreach (string e in Engines)
        {
            foreach (string p in Profiles)
            {
                foreach (string t in Traces)
                {
                    string cell = Path.Combine(dir, Replay.Sweep.HivePath.CellFolder(e, p, t), "summary.parquet");
                    var rows = await Analysis.Reports.ReportReader.ReadSummaryAsync(cell);
                    Assert.All(rows, r => Assert.Equal((e, p, t), (r.Engine, r.Profile, r.Trace)));
                    expected.AddRange(rows.Select(r => (e, p, t, r.Phase, r.Exits)));
                }
            }
        }

        var got = Query(dir, "summary.parquet", "SELECT engine, profile, trace, phase, exits FROM t ORDER BY ALL")
            .Select(r => ((string)r[0]!, (string)r[1]!, (string)r[2]!, (string)r[3]!, (long)r[4]!)).ToList();
        Assert.Equal(expected.Order(), got);
        Assert.Equal(12, got.Count(r => r.Item4 == "all"));
        Assert.Equal(got.Count, got.Distinct().Count());

        // ctxswitch marks warmup and steady: three rows per ctxswitch cell; every row is one cell and phase.
        Assert.Equal(6 * 3, got.Count(r => r.Item3 == Traces[0]));

        // The other report files union into one table each as well (identical schemas in every cell): every cell has
        // exits and timeline rows; counters and per-window exits need only read as one table.
        foreach (string f in new[] { "exits.parquet", "timeline.parquet" })
        {
            Assert.Equal(12L, Query(dir, f, "SELECT count(DISTINCT (engine, profile, trace)) FROM t")[0][0]);
        }

        foreach (string f in new[] { "counters.parquet", "timeline_exits.parquet" })
        {
            Assert.True((long)Query(dir, f, "SELECT count(*) FROM t")[0][0]! > 0, f);
        }
    }
}
