using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Replay.Analysis.Costs;
using Replay.Cli;
using Replay.Driver;
using Replay.Engines.Contract;
using Replay.Engines.Registry;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Benchmarks;

/// <summary>
/// Replay from the Parquet file against the DuckDB floor, per trace (<see cref="Trace"/>: the 10M-event trace of
/// every named workload and an imported lackey trace; see <see cref="BenchTrace"/>). The floor is DuckDB scanning
/// the same file and decoding every trace column (<see cref="DuckDbScan"/>), with 2 threads (the baseline: DuckDB's
/// default on this 2-core machine) and 1. End to end is the <c>replay</c> command itself, in process: replay with
/// native alongside, the summary, the five report files written to a temporary folder. Besides: the trace reader
/// alone on every trace, <c>--engine all</c> on ctxswitch and kernel-build (issue 11: at most 1.5× the time of
/// shadow-cached), and each engine through the driver (no reports) on ctxswitch. The nightly job leaves out the
/// [Extended] ones (DuckDB with 1 thread, the per-engine driver replays) with REPLAY_BENCH_EXTENDED=0.
/// Each invocation processes the whole trace once: "events/s" is the trace's rows / mean time, "vs DuckDB" the floor's
/// mean time / this mean time (issue 11's end-to-end target: 0.5 or more), Ratio its reciprocal.
/// </summary>
/// <remarks>
/// No [MemoryDiagnoser] here: it costs one more invocation per benchmark (BenchmarkDotNet measures allocations in
/// an extra run), a quarter more time on the largest grid of the suite. Add <c>--memory</c> to the command line
/// for the Allocated column; tools/perf/scale.sh measures peak memory of the real command.
/// </remarks>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
[Config(typeof(EventsPerSecondConfig))]
public class ReplayBenchmarks
{
    private string _trace = "";
    private long _rows;
    private DuckDbScan? _scan;
    private string _reports = "";
    private int _run;

    /// <summary>The trace: a named workload (<c>replay gen</c>, seed 1) or <see cref="BenchTrace.Lackey"/>.</summary>
    [Params("ctxswitch", "demand", "forkwait", "kernel-build", "webserver", "database", BenchTrace.Lackey)]
    public string Trace { get; set; } = "ctxswitch";

    [GlobalSetup(Targets = [nameof(Reader), nameof(EndToEndShadowCached), nameof(EndToEndAll), nameof(Native), nameof(ShadowFlush),
        nameof(ShadowCachedXen), nameof(ShadowCachedKvm), nameof(WritablePt), nameof(Ept)])]
    public async Task Setup()
    {
        _trace = BenchTrace.Path(Trace);
        await using (var reader = await TraceReader.OpenAsync(_trace))
        {
            _rows = reader.RowCount;
        }

        _reports = Directory.CreateTempSubdirectory("replay-bench-reports-").FullName;
        Console.WriteLine($"// trace {Trace}: {_trace}, {_rows:N0} rows");
        EventsPerSecondConfig.ReportEvents(_rows);
    }

    /// <summary>The floor's setup: DuckDB is loaded only by the floor's processes.</summary>
    [GlobalSetup(Targets = [nameof(DuckDbThreads2), nameof(DuckDbThreads1)])]
    public async Task SetupFloor()
    {
        await Setup();
        _scan = DuckDbScan.For(_trace);
        DuckDbScan.CheckFreshDatabasePerConnection();
        Console.WriteLine($"// DuckDB floor: {_scan.Query}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_reports.Length > 0)
        {
            Directory.Delete(_reports, recursive: true);
        }
    }

    [Benchmark(Baseline = true, Description = "duckdb scan (threads=2)")]
    [DuckDbFloor]
    public long DuckDbThreads2() => Scan(2);

    [Benchmark(Description = "duckdb scan (threads=1)")]
    [Extended]
    public long DuckDbThreads1() => Scan(1);

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

    /// <summary><c>replay TRACE --engine shadow-cached --out DIR</c>: the whole command but process start.</summary>
    [Benchmark(Description = "replay shadow-cached (end to end)")]
    public Task<long> EndToEndShadowCached() => Command("shadow-cached");

    /// <summary><c>replay TRACE --engine all --out DIR</c>.</summary>
    [Benchmark(Description = "replay all (end to end)")]
    [OnlyTraces("ctxswitch", "kernel-build")]
    public Task<long> EndToEndAll() => Command("all");

    [Benchmark(Description = "replay native")]
    [OnlyTraces("ctxswitch")]
    [Extended]
    public Task<long> Native() => Replay("native");

    [Benchmark(Description = "replay shadow-flush (+native)")]
    [OnlyTraces("ctxswitch")]
    [Extended]
    public Task<long> ShadowFlush() => Replay("shadow-flush");

    [Benchmark(Description = "replay shadow-cached xen (+native)")]
    [OnlyTraces("ctxswitch")]
    [Extended]
    public Task<long> ShadowCachedXen() => Replay("shadow-cached");

    [Benchmark(Description = "replay shadow-cached kvm (+native)")]
    [OnlyTraces("ctxswitch")]
    [Extended]
    public Task<long> ShadowCachedKvm() => Replay("shadow-cached:personality=kvm");

    [Benchmark(Description = "replay writable-pt (+native)")]
    [OnlyTraces("ctxswitch")]
    [Extended]
    public Task<long> WritablePt() => Replay("writable-pt");

    [Benchmark(Description = "replay ept (+native)")]
    [OnlyTraces("ctxswitch")]
    [Extended]
    public Task<long> Ept() => Replay("ept");

    private long Scan(int threads)
    {
        long rows = _scan!.Run(threads);
        return rows == _rows ? rows : throw new InvalidOperationException($"DuckDB counted {rows:N0} rows in {_trace}, the trace reader {_rows:N0}");
    }

    /// <summary>Runs the <c>replay</c> command (<see cref="CliApp"/>, as the executable does) with its reports in a new folder.</summary>
    private async Task<long> Command(string engine)
    {
        string dir = Path.Combine(_reports, (++_run).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var stderr = new StringWriter();
        int rc = await CliApp.RunAsync([_trace, "--engine", engine, "--out", dir], TextWriter.Null, stderr);
        return rc == CliApp.Success ? _rows : throw new InvalidOperationException($"replay {_trace} --engine {engine} --out {dir} failed ({rc}): {stderr}");
    }

    private async Task<long> Replay(string engine)
    {
        var req = new ReplayRequest(_trace, [EngineRegistry.Parse(engine)], ProfileCatalog.Default.Tlb);
        var outcome = await ReplayDriver.RunAsync(req);
        return outcome.Result.Engines[0].All.Events;
    }
}
