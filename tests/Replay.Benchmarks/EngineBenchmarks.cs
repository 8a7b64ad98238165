using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Replay.Analysis.Costs;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Trace;
using Replay.Trace;

namespace Replay.Benchmarks;

/// <summary>
/// One engine alone on the benchmark trace already decoded into memory: what each event costs the engine,
/// without Parquet decoding, well-formedness checks or the native engine that replays alongside in a run.
/// A fresh engine per pass, so every pass starts cold, as a replay does.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
[Config(typeof(EventsPerSecondConfig))]
public class EngineBenchmarks
{
    private readonly List<EventBatch> _batches = [];
    private MachineConfig _config = MachineConfig.Default();

    /// <summary>The engine; <c>shadow-cached-kvm</c> stands for <c>shadow-cached:personality=kvm</c> (BenchmarkDotNet abbreviates long values).</summary>
    [Params("native", "shadow-flush", "shadow-cached", "shadow-cached-kvm", "writable-pt", "ept")]
    public string Engine { get; set; } = "native";

    [GlobalSetup]
    public async Task Setup()
    {
        await using var reader = await TraceReader.OpenAsync(BenchTrace.Path());
        var info = reader.Info;
        _config = new MachineConfig(info.Vcpus, info.MemoryBytes, info.PagingLevels, info.Pcid, ProfileCatalog.Default.Tlb);
        while (true)
        {
            var b = new EventBatch(1 << 20);
            if (!await reader.ReadNextAsync(b))
            {
                break;
            }

            _batches.Add(b);
        }
    }

    [Benchmark(Description = "engine alone (trace in memory)")]
    public long Replay()
    {
        var engine = EngineRegistry.Parse(Engine == "shadow-cached-kvm" ? "shadow-cached:personality=kvm" : Engine).Create(_config);
        foreach (var b in _batches)
        {
            engine.Run(b, 0, b.Count, verify: false);
        }

        return engine.Stats.Exits;
    }
}
