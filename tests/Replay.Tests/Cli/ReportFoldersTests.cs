using System.Diagnostics;
using Replay.Analysis.Reports;
using Replay.Cli;

namespace Replay.Tests.Cli;

/// <summary>Two traces with one name (<c>a/web.pq</c>, <c>b/web.pq</c>) get a report folder and printed rows each.</summary>
public sealed class ReportFoldersTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public void A_repeated_stem_gets_the_next_free_number_in_command_line_order()
    {
        Assert.Equal(
            [P("web"), P("web-2"), P("db"), P("web-3")],
            ReportFolders.For(["a/web.pq", "b/web.parquet", "db.pq", "c/web.pq"]));

        // web-2 is the fourth trace's own stem, so the second web.pq skips it: no two traces ever share a folder.
        Assert.Equal([P("web"), P("web-3"), P("x"), P("web-2")], ReportFolders.For(["a/web.pq", "b/web.pq", "x.pq", "web-2.pq"]));
    }

    [Fact]
    public async Task Each_trace_named_alike_gets_its_own_report_folder_and_rows()
    {
        Directory.CreateDirectory(_d.File("a"));
        Directory.CreateDirectory(_d.File("b"));
        var (code, _, err) = await Cli.RunAsync("gen", "ctxswitch", "-o", _d.File("a/web.pq"), "--events", "2000");
        Assert.True(code == 0, err);
        (code, _, err) = await Cli.RunAsync("gen", "ctxswitch", "-o", _d.File("b/web.pq"), "--events", "3000");
        Assert.True(code == 0, err);

        // The default folder is relative to the working directory, so run the real program in the temporary folder.
        var (exit, stdout, stderr) = await Run(_d.Path, "a/web.pq", "b/web.pq", "--engine", "ept");
        Assert.True(exit == 0, stderr);
        var first = await ReportReader.ReadSummaryAsync(_d.File("reports/web/summary.parquet"));
        var second = await ReportReader.ReadSummaryAsync(_d.File("reports/web-2/summary.parquet"));
        Assert.NotEqual(first[0].TraceSha256, second[0].TraceSha256);
        Assert.Equal(first.Count, second.Count);
        Assert.True(first[0].Events < second[0].Events);

        // The printed tables: one block per trace, one ept row in each, with that trace's own event count.
        string[] blocks = stdout.Split("web.pq: ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, blocks.Length);
        Assert.StartsWith($"{first[0].Events:N0} events", blocks[0]);
        Assert.StartsWith($"{second[0].Events:N0} events", blocks[1]);
        Assert.All(blocks, b => Assert.Single(b.Split('\n'), l => l.StartsWith("  ept ", StringComparison.Ordinal)));
        Assert.Contains("reports/web/{summary", stdout);
        Assert.Contains("reports/web-2/{summary", stdout);
    }

    [Fact]
    public async Task One_out_folder_for_two_traces_named_alike_is_a_usage_error()
    {
        var (code, stdout, err) = await Cli.RunAsync(_d.File("a/web.pq"), _d.File("b/web.pq"), "--out", _d.File("r"));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("are both web.pq", err);
        Assert.False(Directory.Exists(_d.File("r")));
    }

    private static string P(string name) => Path.Combine("reports", name);

    private static async Task<(int Code, string Out, string Err)> Run(string cwd, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(typeof(CliApp).Assembly.Location);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout, await stderr);
    }
}
