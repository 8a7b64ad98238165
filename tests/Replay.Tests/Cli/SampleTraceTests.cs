namespace Replay.Tests.Cli;

/// <summary>The committed sample traces replay cleanly through every engine with the reference check on.</summary>
public sealed class SampleTraceTests
{
    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(RepoRoot(), "traces"), "*.pq").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task A_committed_sample_passes_verify_and_strict_under_every_engine(string sample)
    {
        using var d = Cli.Temp();
        var (code, stdout, stderr) = await Cli.RunAsync(Path.Combine(RepoRoot(), "traces", sample), "--engine", "all", "--verify", "--strict", "--out", d.Path);
        Assert.True(code == 0, stderr);
        Assert.Contains("shadow-flush", stdout);
        Assert.Contains("hybrid", stdout);
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Replay.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Replay.sln not found above the test binaries.");
    }
}
