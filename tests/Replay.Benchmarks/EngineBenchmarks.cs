using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Replay.Analysis.Costs;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Registry;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Benchmarks;

/// <summary>
/// One engine alone on a trace already decoded into memory: what each event costs the engine, without Parquet
/// decoding, well-formedness checks or the native engine that replays alongside in a run. A fresh engine per
/// pass, so every pass starts cold, as a replay does. Traces: generated ctxswitch and kernel-build, the imported
/// lackey trace, and the imported cache-lab sample, which at 268k records is too short to time on its own: one
/// invocation replays it <see cref="BenchTrace.Passes"/> times over (each pass a fresh engine) to reach
/// <see cref="BenchTrace.Events"/> events, and the events/s column counts every pass.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
[Config(typeof(EventsPerSecondConfig))]
public class EngineBenchmarks
{
    private readonly List<EventBatch> _batches = [];
    private MachineConfig _config = MachineConfig.Default();
    private EngineSpec? _spec;
    private int _passes = 1;

    /// <summary>The engine; <c>shadow-cached-kvm</c> stands for <c>shadow-cached:personality=kvm</c> (BenchmarkDotNet abbreviates long values).</summary>
    [Params("native", "shadow-flush", "shadow-cached", "shadow-cached-kvm", "writable-pt", "ept")]
    public string Engine { get; set; } = "native";

    [Params("ctxswitch", "kernel-build", BenchTrace.Lackey, BenchTrace.Cachelab)]
    public string Trace { get; set; } = "ctxswitch";

    [GlobalSetup]
    public async Task Setup()
    {
        await using var reader = await TraceReader.OpenAsync(BenchTrace.Path(Trace));
        var info = reader.Info;
        // As ReplayDriver builds it: the trace's cache pressure (generated traces carry their workload's) included.
        _config = new MachineConfig(info.Vcpus, info.MemoryBytes, info.PagingLevels, info.Pcid, ProfileCatalog.Default.Tlb) { Pressure = info.Pressure };
        _spec = EngineRegistry.Parse(Engine == "shadow-cached-kvm" ? "shadow-cached:personality=kvm" : Engine);
        _passes = BenchTrace.Passes(reader.RowCount);
        while (true)
        {
            var b = new EventBatch(1 << 20);
            if (!await reader.ReadNextAsync(b))
            {
                break;
            }

            _batches.Add(b);
        }

        Console.WriteLine($"// trace {Trace}: {reader.RowCount:N0} rows, {_passes} pass(es) per invocation");
        EventsPerSecondConfig.ReportEvents(reader.RowCount * _passes);
    }

    [Benchmark(Description = "engine alone (trace in memory)")]
    public long Replay()
    {
        long exits = 0;
        for (int pass = 0; pass < _passes; pass++)
        {
            var engine = _spec!.Create(_config);
            foreach (var b in _batches)
            {
                engine.Run(b, 0, b.Count, verify: false);
            }

            exits += engine.Stats.Exits;
        }

        return exits;
    }
}
