using System.Text.Json;
using Replay.Engines.Trace;
using Replay.Tests.Trace;

namespace Replay.Tests.Cli;

/// <summary><c>replay inspect</c>: instruction totals in text and JSON.</summary>
public sealed class InspectCommandTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Two fetches, a read and a write carrying insns 4, 0, 1_000_000 and 7: Σ insns 1,000,011, instructions 2 + 1,000,011 = 1,000,013.</summary>
    private async Task<string> TraceAsync()
    {
        var b = new EventBatch(4);
        b.Add(TraceOp.Fetch, va: 0x1000, insns: 4);
        b.Add(TraceOp.Read, va: 0x2000);
        b.Add(TraceOp.Fetch, va: 0x1004, insns: 1_000_000);
        b.Add(TraceOp.Write, va: 0x2008, insns: 7);
        return await _files.WriteAsync("t.pq", b, new TraceInfo { Vcpus = 1 });
    }

    [Fact]
    public async Task Inspect_shows_instructions_as_fetches_plus_insns()
    {
        var (code, stdout, stderr) = await Cli.RunAsync("inspect", await TraceAsync());

        Assert.True(code == 0, stderr);
        Assert.Contains("instructions: 1,000,013 (2 fetches + 1,000,011 insns)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_json_has_the_instruction_fields()
    {
        var (code, stdout, stderr) = await Cli.RunAsync("inspect", await TraceAsync(), "--json");

        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        JsonElement root = doc.RootElement;
        Assert.Equal((1_000_013L, 1_000_011L, 4L), (root.GetProperty("instructions").GetInt64(), root.GetProperty("insns").GetInt64(), root.GetProperty("rows").GetInt64()));
        Assert.Equal((2L, 1L), (root.GetProperty("ops").GetProperty("fetch").GetInt64(), root.GetProperty("ops").GetProperty("read").GetInt64()));
        Assert.Equal("1", root.GetProperty("metadata").GetProperty("replay.trace.version").GetString());
    }
}
