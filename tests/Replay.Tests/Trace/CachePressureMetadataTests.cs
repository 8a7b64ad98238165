using System.Text.Json;
using Replay.Analysis.Costs;
using Replay.Cli;
using Replay.Driver;
using Replay.Engines.Caches;
using Replay.Engines.Contract;
using Replay.Engines.Registry;
using Replay.Gen;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>
/// <c>replay.guest.cache_pressure</c>: a generated trace records its workload's measured cache pressure
/// (<see cref="Workload.Pressure"/>), a reader hands it to the replay as <see cref="Engines.Trace.TraceInfo.Pressure"/>,
/// a trace without it has none, and a malformed one names the file and the key.
/// </summary>
public sealed class CachePressureMetadataTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("kernel-build")]
    [InlineData("database")]
    public async Task A_generated_trace_records_its_workloads_pressure_and_reads_it_back_exactly(string workload)
    {
        var w = Workloads.Find(workload)!;
        Assert.True(w.Pressure.Any);
        string path = _files.PathOf($"{workload}.pq");
        await GenCommand.GenerateAsync(w, path, seed: 1, events: 2_000);

        await using var reader = await TraceReader.OpenAsync(path);
        Assert.Equal(w.Pressure, reader.Info.Pressure); // doubles written round-trip ("R"): equal, not close
        using var doc = JsonDocument.Parse(reader.Metadata["replay.guest.cache_pressure"]);
        Assert.Equal(w.Pressure.L1dMissesPerKiloInsn, doc.RootElement.GetProperty("l1d_misses_per_kinsn").GetDouble());
        Assert.Equal(w.Pressure.LlcMissesPerKiloInsn, doc.RootElement.GetProperty("llc_misses_per_kinsn").GetDouble());
        Assert.Equal(w.Pressure.FootprintBytes, doc.RootElement.GetProperty("footprint_bytes").GetUInt64());
    }

    [Fact]
    public async Task A_workload_without_measured_pressure_writes_no_key_and_reads_as_none()
    {
        var w = Workloads.Find("forkwait")!;
        Assert.False(w.Pressure.Any);
        string path = _files.PathOf("forkwait.pq");
        await GenCommand.GenerateAsync(w, path, seed: 1, events: 2_000);

        await using var reader = await TraceReader.OpenAsync(path);
        Assert.False(reader.Metadata.ContainsKey("replay.guest.cache_pressure"));
        Assert.Equal(CachePressure.None, reader.Info.Pressure);
    }

    [Fact]
    public async Task The_replay_applies_the_traces_pressure_to_every_engines_caches()
    {
        // The same events with and without the key: the unlisted work's lines evict page-table lines only in the first,
        // so its walks find fewer of their lines in L1; the references themselves are the same.
        string with = _files.PathOf("kbuild.pq");
        await GenCommand.GenerateAsync(Workloads.Find("kernel-build")!, with, seed: 1, events: 50_000);
        var back = await TraceFiles.ReadAllAsync(with);
        Assert.True(back.Info.Pressure.Any);
        string without = await _files.WriteAsync("kbuild-quiet.pq", back.Rows, back.Info with { Pressure = CachePressure.None }, hasTime: true);

        var profile = ProfileCatalog.Resolve("skylake");
        var pressed = await ReplayDriver.RunAsync(new ReplayRequest(with, [EngineRegistry.Parse("native")], profile.Tlb));
        var quiet = await ReplayDriver.RunAsync(new ReplayRequest(without, [EngineRegistry.Parse("native")], profile.Tlb));
        var a = pressed.Result.Engines.Single().All;
        var b = quiet.Result.Engines.Single().All;

        Assert.Equal(b.WalkRefs, a.WalkRefs);
        Assert.True(a.WalkL1 < b.WalkL1, $"L1 served {a.WalkL1} walk references under pressure, {b.WalkL1} without");
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("{\"l1d_misses_per_kinsn\": -1, \"llc_misses_per_kinsn\": 0, \"footprint_bytes\": 4096}")]
    [InlineData("{\"l1d_misses_per_kinsn\": 9}")]
    public async Task A_malformed_pressure_names_the_file_and_the_key(string value)
    {
        string kv = value.Replace("'", "''", StringComparison.Ordinal);
        string path = await _files.DuckAsync("bad.pq", "SELECT 0::UTINYINT AS op, 4096::UBIGINT AS va",
            $"KV_METADATA {{'replay.guest.cache_pressure': '{kv}'}}");
        var e = await Assert.ThrowsAsync<TraceFormatException>(async () => await TraceReader.OpenAsync(path));
        Assert.Contains("bad.pq", e.Message, StringComparison.Ordinal);
        Assert.Contains("replay.guest.cache_pressure", e.Message, StringComparison.Ordinal);
    }
}
