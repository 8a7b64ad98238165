using DuckDB.NET.Data;
using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

/// <summary>
/// Reports written before this version (the previous release's fixture, and one a tool stripped of columns) through
/// the command line: compare lists what it cannot compare, reprice refuses only what it cannot price.
/// </summary>
public sealed class OlderReportTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    private static string V1 { get; } = Path.Combine(SampleTraceTests.RepoRoot(), "tests", "Replay.Analysis.Tests", "Reports", "Data", "v1-ctxswitch");

    [Fact]
    public async Task The_previous_release_and_a_fresh_replay_of_its_trace_count_the_same()
    {
        // The fixture's trace again (the generator is deterministic), replayed by this version.
        string trace = _d.File("ctxswitch-3k.pq");
        await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "3000", "--seed", "1");
        var (code, _, err) = await Cli.RunAsync(trace, "--engine", "all", "--window", "1000", "--out", _d.File("fresh"));
        Assert.True(code == 0, err);

        (code, var stdout, err) = await Cli.RunAsync("compare", V1, _d.File("fresh"), "--max-slowdown", "100", "--strict", "--out", _d.File("c"));
        Assert.True(code == 0, err + stdout);
        Assert.DoesNotContain(Comparer.NotRecorded, stdout);
        var rows = await ReportReader.ReadCompareAsync(_d.File("c/compare.parquet"));
        Assert.Equal(15 * 6, rows.Count);
        Assert.All(rows.Where(r => r.Metric != Comparer.ThroughputMetric), r => Assert.Equal("same", r.Status));

        // Re-priced with the profile it was measured with, the old report equals the fresh one but for timing.
        (code, _, err) = await Cli.RunAsync("reprice", V1, "--profile", "skylake", "--out", _d.File("repriced"));
        Assert.True(code == 0, err);
        var fresh = await ReportReader.ReadSummaryAsync(_d.File("fresh/summary.parquet"));
        var repriced = await ReportReader.ReadSummaryAsync(_d.File("repriced/summary.parquet"));
        Assert.Equal(fresh.Select(r => r with { ReplaySeconds = 0, EventsPerSecond = 0 }), repriced.Select(r => r with { ReplaySeconds = 0, EventsPerSecond = 0 }));
    }

    [Fact]
    public async Task A_report_without_some_columns_compares_what_it_has_and_reprices_only_when_it_can()
    {
        await Stripped("no-peak", "shadow_pages_peak");
        var (code, stdout, err) = await Cli.RunAsync("compare", V1, _d.File("no-peak"), "--max-slowdown", "100", "--strict", "--out", _d.File("c"));
        Assert.True(code == 0, err + stdout);
        Assert.Contains("not_recorded    shadow_pages_peak: not recorded in current (15 rows), not compared", stdout);
        (code, _, err) = await Cli.RunAsync("reprice", _d.File("no-peak"), "--profile", "nehalem", "--out", _d.File("r1"));
        Assert.True(code == 0, err);

        await Stripped("no-walks", "walk_refs");
        (code, _, err) = await Cli.RunAsync("reprice", _d.File("no-walks"), "--profile", "nehalem", "--out", _d.File("r2"));
        Assert.Equal(1, code);
        Assert.Contains("needs walk_refs, which this report does not record", err);
        Assert.False(Directory.Exists(_d.File("r2")));
    }

    /// <summary>The fixture with its summary rewritten by DuckDB without <paramref name="column"/>, the other files copied.</summary>
    private async Task Stripped(string name, string column)
    {
        string dir = _d.File(name);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(V1, "*.parquet").Where(f => Path.GetFileName(f) != "summary.parquet"))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }

        string profile = (await ReportReader.ReadMetadataAsync(Path.Combine(V1, "summary.parquet")))["replay.profile"].Replace("'", "''", StringComparison.Ordinal);
        using var db = new DuckDBConnection("DataSource=:memory:");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"COPY (SELECT * EXCLUDE ({column}) FROM read_parquet('{Path.Combine(V1, "summary.parquet")}')) " +
            $"TO '{Path.Combine(dir, "summary.parquet")}' (FORMAT PARQUET, KV_METADATA {{'replay.profile': '{profile}'}})";
        cmd.ExecuteNonQuery();
    }
}
