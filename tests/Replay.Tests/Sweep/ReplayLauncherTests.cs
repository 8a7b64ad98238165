using Replay.Sweep;

namespace Replay.Tests.Sweep;

public sealed class ReplayLauncherTests
{
    [Theory]
    [InlineData("--partition=long --time=02:00:00", new[] { "--partition=long", "--time=02:00:00" })]
    [InlineData("  --mem=8G\t--comment='two words' ", new[] { "--mem=8G", "--comment=two words" })]
    [InlineData("--comment=\"it's\"", new[] { "--comment=it's" })]
    [InlineData("", new string[0])]
    public void Slurm_options_split_as_a_shell_splits_plain_words(string text, string[] words) =>
        Assert.Equal(words, ReplayLauncher.SplitWords(text));

    [Fact]
    public void An_unclosed_quote_in_slurm_options_is_a_usage_error() =>
        Assert.Contains("unclosed quote", Assert.Throws<SweepUsageException>(() => ReplayLauncher.SplitWords("--comment='x")).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("/opt/replay/replay.dll", "'/opt/replay/replay.dll'")]
    [InlineData("/tmp/it's here", "'/tmp/it'\\''s here'")]
    public void Words_in_the_job_scripts_are_quoted_for_bash(string word, string quoted) =>
        Assert.Equal(quoted, ReplayLauncher.Quote(word));

    [Fact]
    public void Tasks_start_this_replay_through_the_dotnet_host_running_the_tests()
    {
        // Under the test host the process is dotnet; the command is that host and the replay.dll this test loaded.
        var command = ReplayLauncher.Command();
        Assert.Equal(2, command.Count);
        Assert.Equal("dotnet", Path.GetFileNameWithoutExtension(command[0]));
        Assert.Equal("replay.dll", Path.GetFileName(command[1]));
        Assert.True(File.Exists(command[1]));
    }
}
