namespace Replay.Tests.Cli;

/// <summary>
/// Every numeric option of every command: a value that is not a number, or is outside what the option takes, is a
/// usage error (exit 2) with one sentence naming the option and the value, never a stack trace.
/// </summary>
public sealed class NumberOptionTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    public static TheoryData<string, string, string> BadValues => new()
    {
        // command (with its required arguments; {d} is a temporary folder), option, value
        { "run traces/ctxswitch.pq", "--window", "abc" },
        { "run traces/ctxswitch.pq", "--window", "0" },
        { "run traces/ctxswitch.pq", "--window", "99999999999999999999" },
        { "run traces/ctxswitch.pq", "--skip", "-1" },
        { "run traces/ctxswitch.pq", "--skip", "abc" },
        { "run traces/ctxswitch.pq", "--warmup", "1.5" },
        { "run traces/ctxswitch.pq", "--limit", "abc" },
        { "run traces/ctxswitch.pq", "--limit", "0" },
        { "gen ctxswitch -o {d}/x.pq", "--events", "99999999999999999999" },
        { "gen ctxswitch -o {d}/x.pq", "--events", "abc" },
        { "gen ctxswitch -o {d}/x.pq", "--events", "-5" },
        { "gen ctxswitch -o {d}/x.pq", "--seed", "1.5" },
        { "gen ctxswitch -o {d}/x.pq", "--seed", "4294967296" },
        { "gen ctxswitch -o {d}/x.pq", "--vcpus", "many" },
        { "gen ctxswitch -o {d}/x.pq", "--vcpus", "65" },
        { "gen ctxswitch -o {d}/x.pq", "--levels", "3" },
        { "import lackey {d}/a.lackey -o {d}/x.pq", "--limit", "abc" },
        { "import lackey {d}/a.lackey -o {d}/x.pq", "--limit", "0" },
        { "import lackey {d}/a.lackey -o {d}/x.pq", "--slice", "abc" },
        { "import drmemtrace {d} -o {d}/x.pq", "--limit", "1e3" },
        { "compare {d} {d}", "--max-increase", "abc" },
        { "compare {d} {d}", "--max-increase", "-5" },
        { "compare {d} {d}", "--max-slowdown", "abc" },
        { "compare {d} {d}", "--max-slowdown", "NaN" },
        { "compare {d} {d}", "--max-slowdown", "1e999" },
        { "fidelity --work {d}", "--events", "abc" },
        { "fidelity --work {d}", "--events", "100" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task A_bad_number_is_a_usage_error_naming_the_option_and_the_value(string command, string option, string value)
    {
        string[] args = [.. command.Replace("{d}", _d.Path, StringComparison.Ordinal).Split(' '), option, value];
        var (code, stdout, stderr) = await Cli.RunAsync(args);
        Assert.Equal(2, code);
        string first = stderr.Split('\n')[0];
        Assert.StartsWith($"replay: {option} '{value}' is ", first);
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Exception", stderr);
        Assert.Equal("", stdout);
        Assert.False(File.Exists(_d.File("x.pq")));
    }

    [Theory]
    [InlineData("abc", "is not a whole number: it takes 1 or more.")]
    [InlineData("99999999999999999999", "is out of range: it takes 1 or more.")]
    [InlineData("0", "is out of range: it takes 1 or more.")]
    public async Task The_sentence_says_what_the_option_takes(string value, string expected)
    {
        var (_, _, stderr) = await Cli.RunAsync("gen", "ctxswitch", "-o", _d.File("x.pq"), "--events", value);
        Assert.Equal($"replay: --events '{value}' {expected}", stderr.Split('\n')[0].TrimEnd('\r'));
    }

    [Fact]
    public async Task A_number_in_range_is_taken_as_written()
    {
        var (code, stdout, stderr) = await Cli.RunAsync("gen", "ctxswitch", "-o", _d.File("x.pq"), "--events", "3000", "--seed", "-7", "--vcpus", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("(seed -7)", stdout);
    }
}
