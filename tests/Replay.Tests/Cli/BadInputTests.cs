using Replay.Tests.Trace;

namespace Replay.Tests.Cli;

/// <summary>
/// Every bad input gets one clear sentence on stderr, exit code 1 (2 for usage errors), no stack trace,
/// and leaves an existing report folder exactly as it was.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();
    private readonly TraceFiles _files = new();

    public void Dispose()
    {
        _d.Dispose();
        _files.Dispose();
    }

    [Fact]
    public async Task A_missing_trace_names_the_file() =>
        await AssertFails([_d.File("nope.pq")], "nope.pq");

    [Fact]
    public async Task A_file_that_is_not_parquet_names_the_file()
    {
        await File.WriteAllTextAsync(_d.File("text.pq"), "read,0x1000\nwrite,0x2000\n");
        await AssertFails([_d.File("text.pq")], "text.pq");
    }

    [Fact]
    public async Task A_truncated_trace_names_the_file()
    {
        string good = await GoodTrace();
        var bytes = await File.ReadAllBytesAsync(good);
        await File.WriteAllBytesAsync(_d.File("cut.pq"), bytes[..(bytes.Length / 2)]);
        await AssertFails([_d.File("cut.pq")], "cut.pq");
    }

    [Fact]
    public async Task A_trace_without_an_op_column_names_the_column() =>
        await AssertFails([await Duck("noop.pq", "SELECT 4096::UBIGINT AS va")], "noop.pq", "'op'");

    [Fact]
    public async Task An_unknown_op_code_names_the_row() =>
        await AssertFails([await Duck("badop.pq", "SELECT * FROM (VALUES (0::UTINYINT, 4096::UBIGINT), (0, 8192), (42, 0)) t(op, va)")], "badop.pq", "row 2", "'op'");

    [Fact]
    public async Task A_null_where_the_op_needs_a_value_names_the_row_and_column() =>
        await AssertFails([await Duck("nullpa.pq", "SELECT * FROM (VALUES (0::UTINYINT, 4096::UBIGINT, NULL::UBIGINT, 0::UBIGINT), (4, 0, NULL, 7)) t(op, va, pa, value)")], "nullpa.pq", "row 1", "'pa'");

    [Fact]
    public async Task A_negative_insns_count_names_the_file_row_and_column() =>
        await AssertFails([await Duck("neginsns.pq", "SELECT * FROM (VALUES (0::UTINYINT, 4096::UBIGINT, 3::BIGINT), (2, 8192, -1)) t(op, va, insns)")],
            "neginsns.pq", "row 1", "'insns'", "-1 does not fit in uint32");

    [Fact]
    public async Task An_insns_count_above_uint32_names_the_file_row_and_column() =>
        await AssertFails([await Duck("biginsns.pq", "SELECT * FROM (VALUES (0::UTINYINT, 4096::UBIGINT, 4294967296::UBIGINT)) t(op, va, insns)")],
            "biginsns.pq", "row 0", "'insns'", "4294967296 does not fit in uint32");

    [Fact]
    public async Task An_unknown_engine_lists_the_valid_ones() =>
        await AssertUsageError([await GoodTrace(), "--engine", "vtlb"], "vtlb", "native", "shadow-flush");

    [Fact]
    public async Task A_bad_option_value_says_what_the_option_takes() =>
        await AssertUsageError([await GoodTrace(), "--engine", "shadow-flush:keep_global=maybe"], "keep_global", "true or false");

    [Fact]
    public async Task An_unknown_option_lists_the_engines_options() =>
        await AssertUsageError([await GoodTrace(), "--engine", "shadow-flush:oos=off"], "oos", "keep_global");

    [Fact]
    public async Task An_unknown_profile_lists_the_built_in_ones() =>
        await AssertUsageError([await GoodTrace(), "--profile", "pentium-pro"], "pentium-pro", "skylake");

    [Fact]
    public async Task A_profile_file_that_is_not_there_is_bad_input_not_a_usage_error() =>
        await AssertFails([await GoodTrace(), "--profile", _d.File("gone.json")], "gone.json", "does not exist");

    [Fact]
    public async Task A_malformed_profile_names_the_file()
    {
        await File.WriteAllTextAsync(_d.File("broken.json"), "{ \"name\": \"x\", ");
        await AssertFails([await GoodTrace(), "--profile", _d.File("broken.json")], "broken.json");
    }

    [Fact]
    public async Task A_profile_that_cannot_price_an_engine_fails_before_the_replay_reaches_a_bad_last_row()
    {
        // skylake without cr3_switch, and a trace whose last row is a flush of value 5, which --strict stops at: the
        // replay would end there with that row's error, so the profile's error proves the check came first.
        string json = Replay.Analysis.Costs.ProfileCatalog.Resolve("skylake").Json;
        var root = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        root["handlers"]!.AsObject().Remove("cr3_switch");
        root["name"] = "no-cr3-switch";
        await File.WriteAllTextAsync(_d.File("nocr3.json"), root.ToJsonString());
        string bad = await Duck("late.pq", "SELECT (CASE WHEN i = 99999 THEN 6 ELSE i % 3 END)::UTINYINT AS op, (4096 * i)::UBIGINT AS va, (CASE WHEN i = 99999 THEN 5 ELSE 0 END)::UBIGINT AS value FROM range(100000) t(i)");
        string badRow = (await Cli.RunAsync(bad, "--engine", "native", "--strict", "--out", _d.File("r1"))).Err;
        Assert.Contains("row 99999", badRow, StringComparison.Ordinal);

        await AssertFails([bad, "--engine", "shadow-cached", "--strict", "--profile", _d.File("nocr3.json")], "Profile 'no-cr3-switch' has no cost for handler 'cr3_switch'");
    }

    [Fact]
    public async Task Strict_mode_stops_at_the_first_warning_with_its_row() =>
        await AssertFails([await Duck("warn.pq", "SELECT * FROM (VALUES (6::UTINYINT, 0::UBIGINT, 5::UBIGINT)) t(op, va, value)"), "--strict"], "row 0", "flush value 5");

    [Theory]
    [InlineData("--out")]
    [InlineData("--profile")]
    [InlineData("--engine")]
    public async Task An_empty_string_for_an_option_is_a_usage_error_naming_the_option(string option)
    {
        var (code, stdout, stderr) = await Cli.RunAsync("run", "x.pq", option, "");
        Assert.Equal((2, ""), (code, stdout));
        Assert.StartsWith($"replay: the value of {option} is an empty string.", stderr);
    }

    [Theory]
    [InlineData("")]
    [InlineData("run x.pq --no-such-option")]
    [InlineData("gen no-such-workload -o x.pq")]
    [InlineData("run x.pq --window 0")]
    [InlineData("run x.pq --engine no-such-engine")]
    [InlineData("run x.pq --engine shadow-cached:no_such_option=1")]
    [InlineData("run x.pq --engine shadow-cached:oos=maybe")]
    public async Task Usage_errors_exit_with_2(string commandLine)
    {
        var (code, _, err) = await Cli.RunAsync(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(2, code);
        Assert.NotEmpty(err);
    }

    /// <summary>A bad --engine is a usage error (exit 2), refused as carefully as bad input: one sentence, nothing written.</summary>
    private Task AssertUsageError(string[] args, params string[] mentions) => AssertRefused(2, args, mentions);

    private Task AssertFails(string[] args, params string[] mentions) => AssertRefused(1, args, mentions);

    private async Task AssertRefused(int expectedCode, string[] args, params string[] mentions)
    {
        // An existing report folder with an old report and a file of the user's.
        string reports = _d.File("reports");
        Directory.CreateDirectory(reports);
        await File.WriteAllTextAsync(Path.Combine(reports, "summary.parquet"), "old report");
        await File.WriteAllTextAsync(Path.Combine(reports, "notes.txt"), "mine");
        var before = Cli.Snapshot(reports);

        var (code, stdout, stderr) = await Cli.RunAsync([.. args, "--out", reports]);

        Assert.Equal(expectedCode, code);
        Assert.Empty(stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("replay: ", lines[0]);
        Assert.DoesNotContain("   at ", stderr);
        foreach (var m in mentions)
        {
            Assert.Contains(m, stderr);
        }

        Assert.Equal(before, Cli.Snapshot(reports));
    }


    private async Task<string> GoodTrace()
    {
        string path = _d.File("good.pq");
        if (!File.Exists(path))
        {
            await Cli.RunAsync("gen", "demand", "-o", path, "--events", "2000");
        }

        return path;
    }

    private Task<string> Duck(string name, string select) => _files.DuckAsync(name, select);
}
