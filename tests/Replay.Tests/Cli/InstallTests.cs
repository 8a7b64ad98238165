using System.Diagnostics;
using System.Reflection;
using Replay.Cli;

namespace Replay.Tests.Cli;

/// <summary>
/// tools/install.sh, the README's way to get a <c>replay</c> command: run for real into a temporary prefix (a
/// ReadyToRun publish of src/Replay and a launcher), then the installed command is used as a user would.
/// </summary>
public sealed class InstallTests
{
    [Fact]
    public async Task The_installed_command_is_this_build_replays_a_sample_as_the_in_process_one_does_and_exits_2_on_a_usage_error()
    {
        using var prefix = Cli.Temp();
        using var reports = Cli.Temp();
        string root = SampleTraceTests.RepoRoot();
        string sample = Path.Combine(root, "traces", "ctxswitch.pq");

        var install = await RunAsync("bash", Path.Combine(root, "tools", "install.sh"), "--prefix", prefix.Path);
        Assert.True(install.Code == 0, install.Err);
        string replay = Path.Combine(prefix.Path, "bin", "replay");
        Assert.True(File.Exists(Path.Combine(prefix.Path, "lib", "replay", "replay.dll")), install.Err);

        var version = await RunAsync(replay, "--version");
        Assert.Equal((0, typeof(RunCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion),
            (version.Code, version.Out.Trim()));

        var installed = await RunAsync(replay, sample, "--engine", "shadow-cached", "--out", reports.Path);
        Assert.True(installed.Code == 0, installed.Err);
        Assert.True(File.Exists(Path.Combine(reports.Path, "summary.parquet")));
        using var inProcess = Cli.Temp();
        var (code, stdout, stderr) = await Cli.RunAsync(sample, "--engine", "shadow-cached", "--out", inProcess.Path);
        Assert.True(code == 0, stderr);
        Assert.Equal(CountsOf(stdout, "shadow-cached"), CountsOf(installed.Out, "shadow-cached"));

        var usage = await RunAsync(replay, sample, "--engine", "no-such-engine");
        Assert.Equal(2, usage.Code);
        Assert.Contains("no-such-engine", usage.Err);
        Assert.DoesNotContain("   at ", usage.Err); // one sentence, no stack trace
    }

    /// <summary>The summary table's row for <paramref name="engine"/> without its last column (Mevents/s, a rate).</summary>
    private static string CountsOf(string stdout, string engine)
    {
        // The summary table's rows are indented two spaces; the exits table below it four.
        string row = stdout.Split('\n').Single(l => l.StartsWith("  " + engine + " ", StringComparison.Ordinal));
        string[] cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(cells.Length > 5, row);
        return string.Join(' ', cells[..^1]);
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await stdout, await stderr);
    }
}
