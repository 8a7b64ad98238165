using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Engines;
using Replay.Analysis.Costs;
using Replay.Driver;
using Replay.Engines.Contract;
using Replay.Engines.Trace;
using Replay.Trace;

namespace Replay.Benchmarks;

/// <summary>
/// Throughput of the trace reader alone and of end-to-end replay per engine, from the Parquet file, on a
/// generated trace of at least 10M events. Each invocation processes the whole trace once, so
/// events per second = events / mean time (printed as the "events/s" column).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MemoryDiagnoser]
[Config(typeof(EventsPerSecondConfig))]
public class ReplayBenchmarks
{
    private string _trace = "";

    [GlobalSetup]
    public void Setup() => _trace = BenchTrace.Path();

    [Benchmark(Description = "reader")]
    public async Task<long> Reader()
    {
        await using var reader = await TraceReader.OpenAsync(_trace);
        var batch = new EventBatch(1 << 20);
        long rows = 0;
        while (await reader.ReadNextAsync(batch))
        {
            rows += batch.Count;
        }

        return rows;
    }

    [Benchmark(Description = "replay native")]
    public Task<long> Native() => Replay("native");

    [Benchmark(Description = "replay shadow-flush (+native)")]
    public Task<long> ShadowFlush() => Replay("shadow-flush");

    [Benchmark(Description = "replay shadow-cached xen (+native)")]
    public Task<long> ShadowCachedXen() => Replay("shadow-cached");

    [Benchmark(Description = "replay shadow-cached kvm (+native)")]
    public Task<long> ShadowCachedKvm() => Replay("shadow-cached:personality=kvm");

    [Benchmark(Description = "replay writable-pt (+native)")]
    public Task<long> WritablePt() => Replay("writable-pt");

    [Benchmark(Description = "replay ept (+native)")]
    public Task<long> Ept() => Replay("ept");

    private async Task<long> Replay(string engine)
    {
        var req = new ReplayRequest(_trace, [EngineRegistry.Parse(engine)], ProfileCatalog.Default.Tlb);
        var outcome = await ReplayDriver.RunAsync(req);
        return outcome.Result.Engines[0].All.Events;
    }
}
