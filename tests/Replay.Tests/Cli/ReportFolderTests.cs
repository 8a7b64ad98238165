using System.Diagnostics;
using Parquet;
using Replay.Analysis.Reports;
using Replay.Cli;

namespace Replay.Tests.Cli;

/// <summary>
/// A report folder is one unit (issue 15, item 6): replaced whole, locked against a second writer, and what dead
/// writers left is cleaned up. The kill tests run the real command under strace, killing it with SIGKILL at the
/// syscall that swaps the folder in (and at the first that deletes the old folder), as the issue's fault injection did.
/// </summary>
public sealed class ReportFolderTests : IDisposable
{
    private static readonly string[] Files = ["summary.parquet", "exits.parquet", "timeline.parquet", "counters.parquet", "timeline_exits.parquet"];

    private readonly TempDir _dir = Cli.Temp();

    public void Dispose() => _dir.Dispose();

    private static string Sample(string name) => Path.Combine(SampleTraceTests.RepoRoot(), "traces", name);

    private static async Task<string> ShaOfAsync(string file)
    {
        await using ParquetReader reader = await ParquetReader.CreateAsync(file);
        return reader.CustomMetadata["replay.trace.sha256"];
    }

    /// <summary>The one trace hash all five files of <paramref name="folder"/> carry (fails on a mix).</summary>
    private static async Task<string> WholeFolderShaAsync(string folder)
    {
        var shas = new List<string>();
        foreach (string f in Files)
        {
            shas.Add(await ShaOfAsync(Path.Combine(folder, f)));
        }

        return Assert.Single(shas.Distinct());
    }

    [Fact]
    public async Task A_second_run_replaces_the_folder_whole_and_keeps_files_it_did_not_write()
    {
        string reports = _dir.File("r");
        Assert.Equal(0, (await Cli.RunAsync(Sample("ctxswitch.pq"), "--engine", "native", "--out", reports)).Code);
        await File.WriteAllTextAsync(Path.Combine(reports, "notes.html"), "mine");
        File.WriteAllText(Path.Combine(reports, ".timeline.parquet.999999999.0123456789abcdef0123456789abcdef.tmp"), "dead writer's temp");

        var second = await Cli.RunAsync(Sample("demand.pq"), "--engine", "native", "--out", reports);

        Assert.True(second.Code == 0, second.Err);
        Assert.Equal(await ShaOfAsync(Path.Combine(reports, "summary.parquet")), await WholeFolderShaAsync(reports));
        Assert.Equal("mine", await File.ReadAllTextAsync(Path.Combine(reports, "notes.html")));
        Assert.Equal([".r.lock", "r"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFiles(reports, "*.tmp"));
    }

    [Fact]
    public async Task A_folder_locked_by_another_process_fails_before_replaying_and_is_left_alone()
    {
        string reports = _dir.File("r");
        Assert.Equal(0, (await Cli.RunAsync(Sample("ctxswitch.pq"), "--engine", "native", "--out", reports)).Code);
        string sha = await WholeFolderShaAsync(reports);

        // util-linux flock(1) takes the same exclusive flock(2) the writer takes.
        using Process holder = Process.Start(new ProcessStartInfo("flock", ["-x", _dir.File(".r.lock"), "sleep", "60"]) { UseShellExecute = false })!;
        try
        {
            await WaitUntilLockedAsync(_dir.File(".r.lock"));
            var busy = await Cli.RunAsync(Sample("demand.pq"), "--engine", "native", "--out", reports);

            Assert.Equal(1, busy.Code);
            Assert.Equal($"replay: Another replay is writing the report folder '{reports}' (it holds '{_dir.File(".r.lock")}'); wait for it to finish or choose another --out.", busy.Err.Trim());
            Assert.Equal(sha, await WholeFolderShaAsync(reports));
        }
        finally
        {
            holder.Kill();
            await holder.WaitForExitAsync();
        }
    }

    [Fact]
    public void The_next_writer_removes_dead_writers_staging_and_restores_a_folder_moved_aside()
    {
        string reports = _dir.File("r");
        Directory.CreateDirectory(_dir.File(".r.999999999.0123456789abcdef0123456789abcdef.new"));
        string aside = _dir.File(".r.999999998.0123456789abcdef0123456789abcdef.old");
        Directory.CreateDirectory(aside);
        File.WriteAllText(Path.Combine(aside, "summary.parquet"), "the previous folder");
        string live = _dir.File($".r.{Environment.ProcessId}.0123456789abcdef0123456789abcdef.tmp.x");
        File.WriteAllText(live, "not a staging folder");

        using (ReportFolder.Lock(reports))
        {
        }

        Assert.Equal("the previous folder", File.ReadAllText(Path.Combine(reports, "summary.parquet")));
        Assert.Equal([Path.GetFileName(live), ".r.lock", "r"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("renameat2")] // the exchange: the previous folder must stay whole
    [InlineData("rmdir")] // deleting the old folder after the exchange (its first rmdir): the new folder must be whole
    public async Task Kill_9_at_the_swap_leaves_one_runs_folder_whole_and_the_next_run_cleans_up(string syscall)
    {
        Assert.True(File.Exists("/usr/bin/strace"), "strace is not installed (.ci/run installs it)");
        string reports = _dir.File("r");
        Assert.Equal(0, (await Cli.RunAsync(Sample("ctxswitch.pq"), "--engine", "native", "--out", reports)).Code);
        string before = await WholeFolderShaAsync(reports);

        string replayDll = Path.Combine(AppContext.BaseDirectory, "replay.dll");
        var start = new ProcessStartInfo("strace", ["-f", "-qq", "-o", "/dev/null", "-e", $"inject={syscall}:signal=KILL:when=1",
            "dotnet", replayDll, Sample("demand.pq"), "--engine", "native", "--out", reports]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        using Process killed = Process.Start(start)!;
        await killed.WaitForExitAsync();

        string after = await WholeFolderShaAsync(reports);
        if (syscall == "renameat2")
        {
            Assert.Equal(before, after);
        }
        else
        {
            Assert.NotEqual(before, after);
        }

        Assert.NotEmpty(Directory.GetDirectories(_dir.Path, ".r.*")); // what the killed run left
        Assert.Equal(0, (await Cli.RunAsync(Sample("ctxswitch.pq"), "--engine", "native", "--out", reports)).Code);
        Assert.Equal(before, await WholeFolderShaAsync(reports));
        Assert.Equal([".r.lock", "r"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    private static async Task WaitUntilLockedAsync(string lockFile)
    {
        for (int i = 0; i < 200; i++)
        {
            try
            {
                using (new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                }
            }
            catch (FileNotFoundException)
            {
            }
            catch (IOException)
            {
                return;
            }

            await Task.Delay(25);
        }

        Assert.Fail("flock(1) never took the lock");
    }
}
