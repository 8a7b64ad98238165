using System.Data.Common;
using DuckDB.NET.Data;

namespace Replay.Benchmarks;

/// <summary>
/// The DuckDB floor: one scan of a trace file that decodes every trace column present in it (SPEC §1: op, vcpu, va,
/// pa, value, user, width, time, insns; the file's own columns are asked for with <c>DESCRIBE</c>) and aggregates
/// each one, so every value is read. Each scan opens a fresh in-memory database, so nothing of the file is cached
/// from one scan to the next that a fresh process would not also lack (the OS page cache aside, which replay's own
/// benchmarks enjoy too).
/// </summary>
/// <remarks>
/// The aggregate is <c>bit_xor</c> (bool cast to int): it needs every value, no statistics can answer it, and it
/// costs next to nothing beyond the decoding. <c>sum</c> over the uint64 columns accumulates in 128-bit HUGEINT and
/// made the scan 1.4–1.6× slower than <c>bit_xor</c> or <c>max</c> on the 10M-event ctxswitch and kernel-build
/// traces, which would lower the floor the targets are measured against. tools/perf/duckscan takes
/// <c>--aggregate sum</c> to compare.
/// </remarks>
internal sealed class DuckDbScan
{
    /// <summary>The trace columns of SPEC §1 (anything else in a file is not read).</summary>
    public static readonly string[] TraceColumns = ["op", "vcpu", "va", "pa", "value", "user", "width", "time", "insns"];

    /// <summary>The aggregate over each column (see the remarks).</summary>
    public const string Aggregate = "bit_xor";

    private DuckDbScan(string path, string query, IReadOnlyList<string> columns)
    {
        Path = path;
        Query = query;
        Columns = columns;
    }

    public string Path { get; }

    /// <summary>The aggregate query one scan runs.</summary>
    public string Query { get; }

    /// <summary>The trace columns the file has, in file order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Asks DuckDB for the file's columns and builds the scan over the trace columns among them.</summary>
    public static DuckDbScan For(string path, string aggregate = Aggregate)
    {
        string source = $"read_parquet('{path.Replace("'", "''", StringComparison.Ordinal)}')";
        var columns = new List<string>();
        var aggregates = new List<string> { "count(*)" };
        using (var conn = Open(threads: 1))
        using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = $"DESCRIBE SELECT * FROM {source}";
            using var r = cmd.ExecuteReader();
            int nameAt = r.GetOrdinal("column_name");
            int typeAt = r.GetOrdinal("column_type");
            while (r.Read())
            {
                string name = r.GetString(nameAt);
                if (!TraceColumns.Contains(name, StringComparer.Ordinal))
                {
                    continue;
                }

                columns.Add(name);
                string col = $"\"{name}\"";
                aggregates.Add(r.GetString(typeAt) == "BOOLEAN" ? $"{aggregate}(CAST({col} AS INTEGER))" : $"{aggregate}({col})");
            }
        }

        if (!columns.Contains("op"))
        {
            throw new InvalidOperationException($"{path}: no op column; not a trace");
        }

        return new DuckDbScan(path, $"SELECT {string.Join(", ", aggregates)} FROM {source}", columns);
    }

    /// <summary>Runs the scan on a fresh in-memory database with <paramref name="threads"/> threads; returns the row count.</summary>
    public long Run(int threads)
    {
        using var conn = Open(threads);
        using var cmd = conn.CreateCommand();
        cmd.CommandText = Query;
        using var r = cmd.ExecuteReader();
        if (!r.Read())
        {
            throw new InvalidOperationException($"{Path}: the scan returned no row");
        }

        for (int i = 1; i < r.FieldCount; i++)
        {
            _ = r.GetValue(i); // every aggregate is materialized
        }

        return r.GetInt64(0);
    }

    /// <summary>
    /// Checks that <see cref="Run"/> starts from nothing each time: a table made on one connection must not be
    /// seen by the next (a new in-memory database per connection, not one shared and kept warm).
    /// </summary>
    public static void CheckFreshDatabasePerConnection()
    {
        using (var first = Open(threads: 1))
        {
            Execute(first, "CREATE TABLE replay_bench_probe(x INTEGER)");
        }

        using var second = Open(threads: 1);
        using var cmd = second.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'replay_bench_probe'";
        if (Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0)
        {
            throw new InvalidOperationException("DuckDB reused an in-memory database across connections: the floor would scan a warm database");
        }
    }

    private static DuckDBConnection Open(int threads)
    {
        var conn = new DuckDBConnection("DataSource=:memory:");
        conn.Open();
        Execute(conn, $"SET threads={threads}");
        return conn;
    }

    private static void Execute(DbConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
