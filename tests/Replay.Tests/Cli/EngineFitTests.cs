namespace Replay.Tests.Cli;

/// <summary>
/// An engine asked to replay a guest its real system never runs: named explicitly, a usage error (exit 2, one
/// sentence, nothing written); reached through <c>all</c>, skipped with one note on stderr.
/// </summary>
public sealed class EngineFitTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public async Task Xen_shadow_cached_on_a_five_level_trace_is_a_usage_error_and_writes_no_report()
    {
        string trace = await FiveLevelTrace();
        string reports = _d.File("reports");

        var (code, stdout, stderr) = await Cli.RunAsync(trace, "--engine", "native", "--engine", "shadow-cached", "--out", reports);

        // Xen's shadow code handles at most 4-level guests: refused before anything replays.
        Assert.Equal(2, code);
        Assert.Empty(stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("replay: five.pq: shadow-cached with personality=xen cannot replay a 5-level trace", lines[0], StringComparison.Ordinal);
        Assert.Contains("personality=kvm", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(reports) && Directory.EnumerateFileSystemEntries(reports).Any());
    }

    [Fact]
    public async Task All_on_a_five_level_trace_skips_each_engine_with_xen_shadows_with_one_note_and_runs_the_rest()
    {
        string trace = await FiveLevelTrace();

        var (code, stdout, stderr) = await Cli.RunAsync(trace, "--engine", "all", "--engine", "shadow-cached:personality=kvm",
            "--verify", "--strict", "--out", _d.File("reports"));

        Assert.True(code == 0, stderr);
        var notes = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("replay: note:", StringComparison.Ordinal)).ToList();
        // shadow-cached and hybrid both default to Xen's shadow code: one note each.
        Assert.Equal(2, notes.Count);
        Assert.Contains("skips shadow-cached for five.pq", notes[0], StringComparison.Ordinal);
        Assert.Contains("skips hybrid for five.pq", notes[1], StringComparison.Ordinal);
        Assert.All(notes, n => Assert.Contains("5-level", n, StringComparison.Ordinal));
        Assert.Contains("shadow-cached:personality=kvm", stdout, StringComparison.Ordinal);
        Assert.Contains("ept", stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(_d.File(Path.Combine("reports", "summary.parquet"))));
    }

    [Fact]
    public async Task All_on_a_four_level_trace_skips_nothing()
    {
        string trace = _d.File("four.pq");
        var (code, _, err) = await Cli.RunAsync("gen", "demand", "-o", trace, "--events", "2000");
        Assert.True(code == 0, err);

        (code, _, err) = await Cli.RunAsync(trace, "--out", _d.File("reports"));

        Assert.True(code == 0, err);
        Assert.DoesNotContain("note:", err, StringComparison.Ordinal);
    }

    private async Task<string> FiveLevelTrace()
    {
        string trace = _d.File("five.pq");
        var (code, _, err) = await Cli.RunAsync("gen", "demand", "-o", trace, "--events", "2000", "--levels", "5");
        Assert.True(code == 0, err);
        return trace;
    }
}
