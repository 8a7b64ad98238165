using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Replay.Cli;
using Replay.Gen;
using Replay.Kernel;

namespace Replay.Benchmarks;

/// <summary>
/// Throughput of <c>replay gen</c>: the guest kernel model driving a workload into a sink that drops the
/// events (the model alone), and into a Parquet trace file (model + writer). Each invocation generates
/// <see cref="BenchTrace.Events"/> events, so events per second = events / mean time ("events/s" column).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
[MemoryDiagnoser]
[Config(typeof(EventsPerSecondConfig))]
public class GenBenchmarks
{
    private string _file = "";

    [Params("ctxswitch", "forkwait", "kernel-build", "database")]
    public string Workload { get; set; } = "";

    [GlobalSetup]
    public void Setup() => _file = Path.Combine(Path.GetTempPath(), $"replay-bench-gen-{Environment.ProcessId}.pq");

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_file);

    [Benchmark(Description = "gen (null sink)")]
    public long NullSink()
    {
        long rows = 0;
        var kernel = new GuestKernel(new KernelOptions(), b => rows += b.Count);
        Workloads.Find(Workload)!.Generate(kernel, new WorkloadRandom(1), BenchTrace.Events);
        kernel.Complete();
        return rows;
    }

    [Benchmark(Description = "gen to file")]
    public Task<long> ToFile() => GenCommand.GenerateAsync(Workloads.Find(Workload)!, _file, seed: 1, BenchTrace.Events);
}
