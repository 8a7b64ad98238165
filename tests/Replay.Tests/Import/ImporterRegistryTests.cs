using System.Text.RegularExpressions;
using Replay.Import;
using Replay.Tests.Cli;

namespace Replay.Tests.Import;

/// <summary>The importer table feeds <c>replay import</c>, its help and the README.</summary>
public sealed class ImporterRegistryTests
{
    [Fact]
    public void The_table_names_each_importer_once()
    {
        Assert.Equal(["lackey", "drmemtrace", "xentrace"], ImporterRegistry.All.Select(d => d.Name).Take(3));
        Assert.Equal(ImporterRegistry.All.Count, ImporterRegistry.All.Select(d => d.Name).Distinct().Count());
        Assert.All(ImporterRegistry.All, d => Assert.Same(d, ImporterRegistry.Find(d.Name)));
    }

    [Fact]
    public async Task Import_help_lists_every_importer_of_the_table_with_its_description()
    {
        var (code, stdout, _) = await Cli.Cli.RunAsync("import", "--help");
        Assert.Equal(0, code);
        foreach (var d in ImporterRegistry.All)
        {
            Assert.Contains(d.Name, stdout, StringComparison.Ordinal);
            (code, var help, var stderr) = await Cli.Cli.RunAsync("import", d.Name, "--help");
            Assert.True(code == 0, stderr);
            Assert.Contains(d.Description, Regex.Replace(help, @"\s+", " "), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_readme_documents_every_importer_of_the_table()
    {
        string readme = File.ReadAllText(Path.Combine(SampleTraceTests.RepoRoot(), "README.md"));
        Assert.All(ImporterRegistry.All, d => Assert.Contains($"replay import {d.Name} ", readme, StringComparison.Ordinal));
    }
}
