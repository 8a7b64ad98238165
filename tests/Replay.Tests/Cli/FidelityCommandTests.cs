using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using Replay.Cli;
using Replay.Fidelity;

namespace Replay.Tests.Cli;

/// <summary>
/// <c>replay fidelity</c> (SPEC §6): generates the workloads each published effect is measured on into <c>--work</c>,
/// replays them, writes fidelity.parquet (one row per effect, with provenance) and fidelity.md, prints the table, and
/// exits 0 only when every effect is within 2× in the right direction. A second run reuses the generated traces.
/// </summary>
public sealed class FidelityCommandTests : IDisposable
{
    private static readonly string[] Columns =
        ["effect", "source", "setting", "published", "published_low", "published_high", "measured", "unit", "direction_ok", "ratio", "within_2x", "ceiling"];

    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    private sealed record Row(string Effect, string Source, string Setting, string Published, double Low, double High, double Measured,
        string Unit, bool DirectionOk, double Ratio, bool Within2x, double Ceiling);

    private static async Task<List<Row>> ReadRows(string path)
    {
        using var db = new DuckDBConnection("DataSource=:memory:");
        await db.OpenAsync();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT {string.Join(", ", Columns)} FROM read_parquet('{path.Replace("'", "''", StringComparison.Ordinal)}')";
        using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<Row>();
        while (await r.ReadAsync())
        {
            rows.Add(new Row(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetDouble(4), r.GetDouble(5), r.GetDouble(6),
                r.GetString(7), r.GetBoolean(8), r.GetDouble(9), r.GetBoolean(10), r.GetDouble(11)));
        }

        return rows;
    }

    private static async Task<(List<string> Columns, Dictionary<string, string> Metadata)> ReadSchema(string path)
    {
        await using var reader = await Parquet.ParquetReader.CreateAsync(path);
        return (reader.Schema.GetDataFields().Select(f => f.Name).ToList(), new Dictionary<string, string>(reader.CustomMetadata));
    }

    [Fact]
    public async Task Fidelity_writes_one_row_per_effect_prints_the_table_and_exits_as_its_rows_say_then_reuses_its_traces()
    {
        string outDir = _d.File("out"), work = _d.File("work");
        var (code, stdout, stderr) = await Cli.RunAsync("fidelity", "--events", "20000", "--out", outDir, "--work", work);
        Assert.True(code is 0 or 1, stderr);

        // One row per effect, in the table's order, with the columns and provenance of a replay report.
        string parquet = Path.Combine(outDir, FidelityTable.ParquetFile);
        var rows = await ReadRows(parquet);
        var effects = Effects.All(20_000);
        Assert.Equal(effects.Select(e => e.Id), rows.Select(r => r.Effect));
        Assert.Equal(effects.Select(e => e.Published.Text), rows.Select(r => r.Published));
        var (columns, meta) = await ReadSchema(parquet);
        Assert.Equal(Columns, columns);
        Assert.Equal(RunCommand.Version, meta["replay.version"]);
        Assert.Equal(RunCommand.Commit, meta["replay.commit"]);
        Assert.StartsWith("replay fidelity", meta["replay.command"], StringComparison.Ordinal);
        Assert.Contains("--events 20000", meta["replay.command"], StringComparison.Ordinal);

        // Each row's verdict follows the rule; the exit code is 0 exactly when every row is within 2×.
        Assert.All(rows, r => Assert.Equal(
            r.DirectionOk && (double.IsNaN(r.Ratio) ? double.IsNaN(r.Low) : r.Ratio is >= 0.5 and <= 2.0), r.Within2x));
        Assert.Equal(rows.All(r => r.Within2x) ? CliApp.Success : CliApp.Failure, code);
        // A ceiling where the effect defines one and measured a number (the measured gain with the winner at native
        // cost; a phase too short to hold events measures none), none elsewhere; no engine beats native, so no gain
        // exceeds its ceiling.
        var byId = effects.ToDictionary(e => e.Id);
        Assert.All(rows.Where(r => !double.IsNaN(r.Measured)), r => Assert.Equal(byId[r.Effect].Ceiling is null, double.IsNaN(r.Ceiling)));
        Assert.All(rows.Where(r => double.IsNaN(r.Measured)), r => Assert.True(double.IsNaN(r.Ceiling), r.Effect));
        Assert.Contains(rows, r => !double.IsNaN(r.Ceiling));
        Assert.All(rows.Where(r => !double.IsNaN(r.Ceiling)), r => Assert.True(r.Measured <= r.Ceiling + 1e-9, $"{r.Effect}: {r.Measured} > {r.Ceiling}"));
        var walk = rows.Single(r => r.Effect == "two-d-walk-references");
        Assert.Equal((24.0, 24.0, 24.0, 1.0, true), (walk.Measured, walk.Low, walk.High, walk.Ratio, walk.Within2x));

        // The markdown is what was printed, followed by the count of good rows.
        string md = await File.ReadAllTextAsync(Path.Combine(outDir, FidelityTable.MarkdownFile));
        Assert.StartsWith(md, stdout, StringComparison.Ordinal);
        Assert.Equal(2 + rows.Count, md.TrimEnd().Split('\n').Length); // header, rule, one line per effect
        Assert.All(rows, r => Assert.Contains($"`{r.Effect}`", md, StringComparison.Ordinal));
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{rows.Count(r => r.Within2x)} of {rows.Count} effects within 2×"), stdout, StringComparison.Ordinal);
        Assert.Contains("generating", stderr, StringComparison.Ordinal);

        // A second run finds every trace in --work: nothing is generated again, and the table is the same. With --json
        // it prints the rows under the Parquet file's column names.
        var traces = Directory.GetFiles(work).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        Assert.NotEmpty(traces);
        var (again, json, stderr2) = await Cli.RunAsync("fidelity", "--events", "20000", "--out", outDir, "--work", work, "--json");
        Assert.Equal(code, again);
        Assert.DoesNotContain("generating", stderr2, StringComparison.Ordinal);
        Assert.Contains("replaying", stderr2, StringComparison.Ordinal);
        Assert.Equal(traces, Directory.GetFiles(work).ToDictionary(f => f, File.GetLastWriteTimeUtc));
        Assert.Equal(rows, await ReadRows(parquet));

        using var doc = JsonDocument.Parse(json[..(json.LastIndexOf(']') + 1)]);
        var printed = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(rows.Count, printed.Count);
        Assert.All(printed, p => Assert.Equal(Columns, p.EnumerateObject().Select(f => f.Name)));
        Assert.Equal(rows.Select(r => (r.Effect, r.Within2x)),
            printed.Select(p => (p.GetProperty("effect").GetString()!, p.GetProperty("within_2x").GetBoolean())));
    }

    [Fact]
    public async Task Too_few_events_is_a_usage_error_in_one_sentence()
    {
        var (code, stdout, stderr) = await Cli.RunAsync("fidelity", "--events", "5", "--out", _d.File("out"), "--work", _d.File("work"));

        Assert.Equal(CliApp.UsageError, code);
        Assert.Empty(stdout);
        string error = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim();
        Assert.Contains("--events", error, StringComparison.Ordinal);
        Assert.Contains("10000", error, StringComparison.Ordinal);
        Assert.EndsWith(".", error, StringComparison.Ordinal);
        Assert.Single(error.Split(". ", StringSplitOptions.None));
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_d.File("out")));
        Assert.False(Directory.Exists(_d.File("work")));
    }

    [Fact]
    public async Task Effect_limits_the_table_and_the_replays_to_the_effects_named()
    {
        // The 2-D walk effect needs no workload; the forkwait one needs forkwait alone (under prescott).
        string outDir = _d.File("out"), work = _d.File("work");
        var (code, stdout, stderr) = await Cli.RunAsync("fidelity", "--events", "20000", "--out", outDir, "--work", work,
            "--effect", "two-d-walk-references", "--effect", "forkwait-vtx-shadow");
        Assert.True(code is 0 or 1, stderr);

        var rows = await ReadRows(Path.Combine(outDir, FidelityTable.ParquetFile));
        Assert.Equal(["forkwait-vtx-shadow", "two-d-walk-references"], rows.Select(r => r.Effect)); // the table's own order
        Assert.Equal(24, rows[1].Measured);
        Assert.Equal(["forkwait-v1-n20000-s1.pq"], Directory.GetFiles(work).Select(Path.GetFileName));
        Assert.Contains("of 2 effects within 2×", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_effect_is_a_usage_error_that_lists_the_effects()
    {
        var (code, stdout, stderr) = await Cli.RunAsync("fidelity", "--effect", "forkwait", "--out", _d.File("out"), "--work", _d.File("work"));

        Assert.Equal(CliApp.UsageError, code);
        Assert.Empty(stdout);
        Assert.Contains("'forkwait'", stderr, StringComparison.Ordinal);
        Assert.All(Effects.All(FidelityCommand.DefaultEvents), e => Assert.Contains(e.Id, stderr, StringComparison.Ordinal));
        Assert.False(Directory.Exists(_d.File("out")));
    }
}
