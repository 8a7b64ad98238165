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
    public async Task The_previous_release_compares_with_a_fresh_replay_and_reprices_with_its_own_profile()
    {
        // The fixture's trace again by name, made by this version's generator (its workloads are now calibrated, so the
        // trace itself changed) and replayed: every row of the old report finds its row in the new one, metric by metric.
        string trace = _d.File("ctxswitch-3k.pq");
        await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "3000", "--seed", "1");
        // The engines the fixture's release had (--strict refuses rows on one side only, as an engine added since would give).
        var (code, _, err) = await Cli.RunAsync(trace, "--engine", "native", "--engine", "shadow-flush", "--engine", "shadow-cached",
            "--engine", "writable-pt", "--engine", "ept", "--window", "1000", "--out", _d.File("fresh"));
        Assert.True(code == 0, err);

        (code, var stdout, err) = await Cli.RunAsync("compare", V1, _d.File("fresh"), "--max-increase", "1000000", "--max-slowdown", "100", "--strict", "--out", _d.File("c"));
        Assert.True(code == 0, err + stdout);
        var rows = await ReportReader.ReadCompareAsync(_d.File("c/compare.parquet"));
        Assert.Equal(15 * 6, rows.Count);
        Assert.All(rows, r => Assert.True(r.Status is "same" or "better" or "worse", r.Status));

        // Re-priced with the profile it was measured with (the earlier release's format), it equals itself but for timing.
        var meta = await ReportReader.ReadMetadataAsync(Path.Combine(V1, "summary.parquet"));
        await File.WriteAllTextAsync(_d.File("v1-profile.json"), meta["replay.profile"]);
        (code, _, err) = await Cli.RunAsync("reprice", V1, "--profile", _d.File("v1-profile.json"), "--out", _d.File("repriced"));
        Assert.True(code == 0, err);
        var original = await ReportReader.ReadSummaryAsync(Path.Combine(V1, "summary.parquet"));
        var repriced = await ReportReader.ReadSummaryAsync(_d.File("repriced/summary.parquet"));
        Assert.Equal(original.Select(r => r.MmuCycles), repriced.Select(r => r.MmuCycles));
        Assert.Equal(original.Select(r => r.TotalCycles), repriced.Select(r => r.TotalCycles));

        // A current profile prices instructions and walk levels that release never counted: reprice says so.
        (code, _, err) = await Cli.RunAsync("reprice", V1, "--profile", "skylake", "--out", _d.File("refused"));
        Assert.Equal(1, code);
        Assert.Contains("walk_refs_mem", err);
    }

    [Fact]
    public async Task A_report_without_some_columns_compares_what_it_has_and_reprices_only_when_it_can()
    {
        await Stripped("no-peak", "shadow_pages_peak");
        var (code, stdout, err) = await Cli.RunAsync("compare", V1, _d.File("no-peak"), "--max-slowdown", "100", "--strict", "--out", _d.File("c"));
        Assert.True(code == 0, err + stdout);
        Assert.Contains("not_recorded    shadow_pages_peak: not recorded in current (15 rows), not compared", stdout);

        // A profile in that release's format prices only what it recorded (the current ones also price instructions and walk levels).
        var meta = await ReportReader.ReadMetadataAsync(Path.Combine(V1, "summary.parquet"));
        string older = _d.File("v1-profile.json");
        await File.WriteAllTextAsync(older, meta["replay.profile"].Replace("\"vmexit\": 750", "\"vmexit\": 900", StringComparison.Ordinal));
        (code, _, err) = await Cli.RunAsync("reprice", _d.File("no-peak"), "--profile", older, "--out", _d.File("r1"));
        Assert.True(code == 0, err);

        await Stripped("no-walks", "walk_refs");
        (code, _, err) = await Cli.RunAsync("reprice", _d.File("no-walks"), "--profile", older, "--out", _d.File("r2"));
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
