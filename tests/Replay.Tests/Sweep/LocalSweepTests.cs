using System.Text.Json;

namespace Replay.Tests.Sweep;

public sealed class LocalSweepTests
{
    [Fact]
    public async Task A_grid_of_2_traces_3_engines_and_2_profiles_runs_with_two_workers_resumes_and_redoes_a_deleted_cell()
    {
        using var d = Cli.Cli.Temp();
        string dir = d.File("sweep");
        var (code, stdout, err) = await Cli.Cli.RunAsync(["sweep", .. SweepDataset.GridArgs, "--out", dir, "-j", "2", "--window", "5000"]);
        Assert.True(code == 0, err);
        Assert.Contains("2 trace(s) × 3 engine configuration(s) × 2 profile(s) = 12 cells", err, StringComparison.Ordinal);
        Assert.Contains("sweep: 12 cells: 12 done, 0 failed, 0 pending", stdout, StringComparison.Ordinal);
        Assert.Contains("sweep: 12/12 cells (0 failed)", err, StringComparison.Ordinal);
        await SweepDataset.AssertCompleteAsync(dir);

        // A cell is what 'replay run' writes for it: the same counts as running that cell by hand.
        string trace = Path.Combine(dir, "_work", "traces", SweepDataset.Traces[0]);
        Assert.Equal(0, (await Cli.Cli.RunAsync("run", trace, "--engine", "shadow-cached:personality=kvm", "--profile", "nehalem", "--out", d.File("byhand"), "--window", "5000")).Code);
        var byHand = await Analysis.Reports.ReportReader.ReadSummaryAsync(d.File("byhand/summary.parquet"));
        var inSweep = await Analysis.Reports.ReportReader.ReadSummaryAsync(Path.Combine(dir, Replay.Sweep.HivePath.CellFolder("shadow-cached:personality=kvm", "nehalem", SweepDataset.Traces[0]), "summary.parquet"));
        Assert.Equal(byHand.Select(r => (r.Phase, r.Exits, r.WalkRefs, r.MmuCycles)), inSweep.Select(r => (r.Phase, r.Exits, r.WalkRefs, r.MmuCycles)));

        // The manifest: every cell done, with its inputs and provenance.
        using (var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "manifest.json"))))
        {
            var root = manifest.RootElement;
            Assert.Equal(12, root.GetProperty("done").GetInt32());
            var cells = root.GetProperty("grid").EnumerateArray().ToList();
            Assert.Equal(12, cells.Count);
            Assert.All(cells, c => Assert.Equal("done", c.GetProperty("status").GetString()));
            Assert.All(cells, c => Assert.Equal(0, c.GetProperty("exit_code").GetInt32()));
            Assert.All(cells, c => Assert.Equal(64, c.GetProperty("trace_sha256").GetString()!.Length));
            Assert.Equal("gen:ctxswitch?events=20000&seed=1", cells[0].GetProperty("recipe").GetString());
            Assert.False(string.IsNullOrEmpty(root.GetProperty("replay_version").GetString()));
        }

        // Run again: every cell is recorded done for the same inputs, so nothing runs and nothing is rewritten.
        string oneCell = Path.Combine(dir, Replay.Sweep.HivePath.CellFolder("ept", "skylake", SweepDataset.Traces[1]));
        string otherCell = Path.Combine(dir, Replay.Sweep.HivePath.CellFolder("ept", "nehalem", SweepDataset.Traces[1]));
        var written = File.GetLastWriteTimeUtc(Path.Combine(otherCell, "summary.parquet"));
        (code, _, err) = await Cli.Cli.RunAsync(["sweep", .. SweepDataset.GridArgs, "--out", dir, "-j", "2", "--window", "5000"]);
        Assert.True(code == 0, err);
        Assert.Contains("12 of 12 cells already done for the same inputs; skipped", err, StringComparison.Ordinal);
        Assert.DoesNotContain("sweep: generated", err, StringComparison.Ordinal);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(otherCell, "summary.parquet")));

        // A deleted cell is redone, and only it.
        Directory.Delete(oneCell, recursive: true);
        (code, _, err) = await Cli.Cli.RunAsync(["sweep", .. SweepDataset.GridArgs, "--out", dir, "-j", "2", "--window", "5000"]);
        Assert.True(code == 0, err);
        Assert.Contains("11 of 12 cells already done", err, StringComparison.Ordinal);
        Assert.Contains("sweep: 12/12 cells (0 failed)", err, StringComparison.Ordinal);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(otherCell, "summary.parquet")));
        await SweepDataset.AssertCompleteAsync(dir);

        // Other inputs (here the window) are another cell's worth of work: every cell runs again.
        (code, _, err) = await Cli.Cli.RunAsync(["sweep", .. SweepDataset.GridArgs, "--out", dir, "-j", "2", "--window", "7000"]);
        Assert.True(code == 0, err);
        Assert.DoesNotContain("already done", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_cell_is_recorded_with_its_error_and_the_rest_carry_on_with_exit_1()
    {
        // Xen's shadow code runs guests of at most 4 levels, so shadow-cached (xen) refuses a 5-level trace (run exits 2);
        // ept replays it.
        using var d = Cli.Cli.Temp();
        string dir = d.File("sweep");
        var (code, stdout, err) = await Cli.Cli.RunAsync("sweep", "gen:ctxswitch?events=3000&levels=5", "-e", "shadow-cached", "-e", "ept", "-e", "native", "--out", dir, "-j", "2");
        Assert.Equal(1, code);
        Assert.Contains("sweep: 3 cells: 2 done, 1 failed, 0 pending", stdout, StringComparison.Ordinal);
        Assert.Contains("engine=shadow-cached/profile=skylake/trace=ctxswitch.events-3000.levels-5.pq failed", err, StringComparison.Ordinal);

        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "manifest.json")));
        var cells = manifest.RootElement.GetProperty("grid").EnumerateArray().ToDictionary(c => c.GetProperty("engine").GetString()!);
        Assert.Equal("failed", cells["shadow-cached"].GetProperty("status").GetString());
        Assert.Equal(2, cells["shadow-cached"].GetProperty("exit_code").GetInt32());
        Assert.Contains("5-level", cells["shadow-cached"].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("done", cells["ept"].GetProperty("status").GetString());
        Assert.Equal("done", cells["native"].GetProperty("status").GetString());
        Assert.False(File.Exists(Path.Combine(dir, Replay.Sweep.HivePath.CellFolder("shadow-cached", "skylake", "ctxswitch.events-3000.levels-5.pq"), "summary.parquet")));

        // A rerun retries the failed cell only (it fails again), and says so.
        (code, _, err) = await Cli.Cli.RunAsync("sweep", "gen:ctxswitch?events=3000&levels=5", "-e", "shadow-cached", "-e", "ept", "-e", "native", "--out", dir, "-j", "2");
        Assert.Equal(1, code);
        Assert.Contains("2 of 3 cells already done", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "traces/none.pq", "-e", "ept" }, "trace argument 1: trace 'traces/none.pq': no such file.")]
    [InlineData(new[] { "gen:nosuch?events=10", "-e", "ept" }, "trace recipe 'gen:nosuch?events=10'")]
    [InlineData(new[] { "gen:ctxswitch?events=abc", "-e", "ept" }, "trace recipe 'gen:ctxswitch?events=abc'")]
    [InlineData(new[] { "gen:ctxswitch", "-e", "shadow-cached:prefetch=1|999" }, "--engine 'shadow-cached:prefetch=1|999'")]
    [InlineData(new[] { "gen:ctxswitch", "-e", "ept", "-p", "pentium9" }, "--profile 'pentium9': Unknown profile 'pentium9'")]
    [InlineData(new[] { "gen:ctxswitch", "-e", "ept", "--wait" }, "--wait goes with --slurm")]
    public async Task A_bad_grid_is_a_usage_error_naming_the_entry_before_anything_runs(string[] args, string message)
    {
        using var d = Cli.Cli.Temp();
        var (code, _, err) = await Cli.Cli.RunAsync(["sweep", .. args, "--out", d.File("sweep")]);
        Assert.Equal(2, code);
        Assert.Contains(message, err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(d.File("sweep")), "nothing is generated or written");
    }

    [Theory]
    [InlineData("-j", "abc", "Cannot parse argument 'abc' for option '--jobs'")]
    [InlineData("-j", "0", "--jobs must be a positive number of cells at once.")]
    [InlineData("--window", "abc", "Cannot parse argument 'abc' for option '--window'")]
    [InlineData("--cells-per-task", "0", "--cells-per-task must be a positive number of cells per task.")]
    [InlineData("--max-running", "-1", "--max-running must be 0 (no limit) or a positive number of tasks.")]
    [InlineData("--skip", "abc", "--skip")]
    [InlineData("--limit", "0", "--limit")]
    public async Task A_bad_number_is_a_usage_error_not_a_crash(string option, string value, string message)
    {
        var (code, _, err) = await Cli.Cli.RunAsync("sweep", "gen:ctxswitch", option, value);
        Assert.Equal(2, code);
        Assert.Contains(message, err, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("grid.yaml", "traces:\n  - gen:ctxswitch?events=3000\nengines: ['shadow-flush:prefetch=0..8:+8', ept]\nprofiles: [skylake]\nwindow: 1000\n")]
    [InlineData("grid.json", "{ \"traces\": [\"gen:ctxswitch?events=3000\"], \"engines\": [\"shadow-flush:prefetch=0..8:+8\", \"ept\"], \"profiles\": [\"skylake\"], \"window\": 1000 }")]
    public async Task A_spec_file_in_YAML_or_JSON_is_the_same_grid_as_the_flags(string name, string text)
    {
        using var d = Cli.Cli.Temp();
        await File.WriteAllTextAsync(d.File(name), text);
        var (code, stdout, err) = await Cli.Cli.RunAsync("sweep", "--spec", d.File(name), "--out", d.File("sweep"), "-j", "1");
        Assert.True(code == 0, err);
        Assert.Contains("sweep: 3 cells: 3 done", stdout, StringComparison.Ordinal);
        var engines = SweepDataset.Query(d.File("sweep"), "summary.parquet", "SELECT DISTINCT engine FROM t ORDER BY 1").Select(r => (string)r[0]!);
        Assert.Equal(["ept", "shadow-flush", "shadow-flush:prefetch=8"], engines);
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(d.File("sweep/manifest.json")));
        Assert.Equal(1000, manifest.RootElement.GetProperty("settings").GetProperty("window").GetInt64());
    }

    [Theory]
    [InlineData("flags", "")]
    [InlineData("grid.yaml", "traces: [gen:ctxswitch?events=6000]\nengines: [shadow-cached, ept]\nwindow: 1000\nskip: 1000\nwarmup: 500\nlimit: 3000\n")]
    public async Task The_row_range_and_window_reach_every_cell_and_the_manifest_records_them(string name, string text)
    {
        // Every cell counts exactly what 'replay run --skip 1000 --warmup 500 --limit 3000 --window 1000' counts: rows
        // 1,500 to 4,499, so 3,000 events in phase all and the first window numbered 1 (row 1,500 / 1,000).
        using var d = Cli.Cli.Temp();
        string dir = d.File("sweep");
        string[] args = name == "flags"
            ? ["sweep", "gen:ctxswitch?events=6000", "-e", "shadow-cached", "-e", "ept", "--window", "1000", "--skip", "1000", "--warmup", "500", "--limit", "3000"]
            : ["sweep", "--spec", d.File(name)];
        if (text.Length > 0)
        {
            await File.WriteAllTextAsync(d.File(name), text);
        }

        var (code, _, err) = await Cli.Cli.RunAsync([.. args, "--out", dir, "-j", "2"]);
        Assert.True(code == 0, err);

        string trace = Path.Combine(dir, "_work", "traces", "ctxswitch.events-6000.pq");
        Assert.Equal(0, (await Cli.Cli.RunAsync("run", trace, "--engine", "shadow-cached", "--engine", "ept", "--out", d.File("byhand"),
            "--window", "1000", "--skip", "1000", "--warmup", "500", "--limit", "3000")).Code);
        var byHand = await Analysis.Reports.ReportReader.ReadSummaryAsync(d.File("byhand/summary.parquet"));
        foreach (string engine in new[] { "shadow-cached", "ept" })
        {
            string cell = Path.Combine(dir, Replay.Sweep.HivePath.CellFolder(engine, "skylake", "ctxswitch.events-6000.pq"));
            var inSweep = await Analysis.Reports.ReportReader.ReadSummaryAsync(Path.Combine(cell, "summary.parquet"));
            Assert.Equal(3000, inSweep.Single(r => r.Phase == "all").Events);
            Assert.Equal(byHand.Where(r => r.Engine == engine).Select(r => (r.Phase, r.Events, r.Exits, r.TlbMisses, r.MmuCycles)),
                inSweep.Select(r => (r.Phase, r.Events, r.Exits, r.TlbMisses, r.MmuCycles)));
            var windows = await Analysis.Reports.ReportReader.ReadTimelineAsync(Path.Combine(cell, "timeline.parquet"));
            Assert.Equal([1L, 2L, 3L, 4L], windows.Select(w => w.Window));
            var meta = await Analysis.Reports.ReportReader.ReadMetadataAsync(Path.Combine(cell, "summary.parquet"));
            Assert.EndsWith("--window 1000 --skip 1000 --warmup 500 --limit 3000", meta["replay.command"], StringComparison.Ordinal);
        }

        using (var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "manifest.json"))))
        {
            var settings = manifest.RootElement.GetProperty("settings");
            Assert.Equal((1000L, 1000L, 500L, 3000L), (settings.GetProperty("window").GetInt64(), settings.GetProperty("skip").GetInt64(),
                settings.GetProperty("warmup").GetInt64(), settings.GetProperty("limit").GetInt64()));
        }

        // Another range is other inputs: the cells run again rather than being taken as done.
        (code, _, err) = await Cli.Cli.RunAsync("sweep", "gen:ctxswitch?events=6000", "-e", "shadow-cached", "-e", "ept", "--window", "1000", "--out", dir, "-j", "2");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("already done", err, StringComparison.Ordinal);
        var whole = await Analysis.Reports.ReportReader.ReadSummaryAsync(Path.Combine(dir, Replay.Sweep.HivePath.CellFolder("ept", "skylake", "ctxswitch.events-6000.pq"), "summary.parquet"));
        Assert.Equal(6000, whole.Single(r => r.Phase == "all").Events);
    }

    [Theory]
    [InlineData("grid.yaml", "traces: [a.pq]\nengnes: [ept]\n", "line 2")]
    [InlineData("grid.json", "{ \"traces\": [\"a.pq\"],\n \"engnes\": [\"ept\"] }", "line 2")]
    public async Task An_unknown_key_in_a_spec_file_is_a_usage_error_naming_its_line(string name, string text, string where)
    {
        using var d = Cli.Cli.Temp();
        await File.WriteAllTextAsync(d.File(name), text);
        var (code, _, err) = await Cli.Cli.RunAsync("sweep", "--spec", d.File(name), "--out", d.File("sweep"));
        Assert.Equal(2, code);
        Assert.Contains($"{d.File(name)}: {where}", err, StringComparison.Ordinal);
        Assert.Contains("engnes", err, StringComparison.Ordinal);
    }
}

public sealed class SweepGlobTests
{
    [Fact]
    public async Task A_glob_finds_the_committed_samples_and_their_cells_union_in_DuckDB_generated_and_imported_alike()
    {
        // traces/*.pq: the generated ctxswitch and demand samples and the imported lackey-tiny (no time column), in
        // name order; one engine and one profile, so three cells whose files DuckDB unions without union_by_name.
        using var d = Cli.Cli.Temp();
        string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        string dir = d.File("sweep");
        var (code, stdout, err) = await Cli.Cli.RunAsync("sweep", Path.Combine(root, "traces", "*.pq"), "-e", "writable-pt", "--out", dir, "-j", "2");
        Assert.True(code == 0, err);
        Assert.Contains("sweep: 3 cells: 3 done", stdout, StringComparison.Ordinal);
        var traces = SweepDataset.Query(dir, "summary.parquet", "SELECT DISTINCT trace FROM t ORDER BY 1").Select(r => (string)r[0]!);
        Assert.Equal(["ctxswitch.pq", "demand.pq", "lackey-tiny.pq"], traces);
        var timeline = SweepDataset.Query(dir, "timeline.parquet", "SELECT trace, count(*), count(time_ns) FROM t GROUP BY trace ORDER BY trace");
        Assert.Equal(3, timeline.Count);
        Assert.All(timeline, r => Assert.True((long)r[1]! > 0));
    }
}
