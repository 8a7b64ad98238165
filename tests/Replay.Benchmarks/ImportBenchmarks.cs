using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Replay.Engines.Trace;
using Replay.Kernel;
using Replay.Import;

namespace Replay.Benchmarks;

/// <summary>
/// Lackey import throughput on a generated file of <see cref="LackeyBenchFile.Lines"/> lines: parsing alone
/// (plain and gzip) and the full import into a trace (guest demand paging, Parquet writing). Each invocation
/// reads the whole file once, so lines per second = lines / mean time (the "lines/s" column).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
[MemoryDiagnoser]
[Config(typeof(LinesPerSecondConfig))]
public class ImportBenchmarks
{
    private string _dir = "";
    private string _plain = "";
    private string _gzip = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("replay-bench-import-").FullName;
        _plain = Path.Combine(_dir, "bench.lackey");
        _gzip = Path.Combine(_dir, "bench.lackey.gz");
        LackeyBenchFile.Write(_plain, LackeyBenchFile.Lines);
        LackeyBenchFile.Write(_gzip, LackeyBenchFile.Lines, gzip: true);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Description = "lackey parse")]
    public long Parse() => ParseFile(_plain);

    [Benchmark(Description = "lackey parse (gzip)")]
    public long ParseGzip() => ParseFile(_gzip);

    [Benchmark(Description = "lackey import (parse + guest + Parquet)")]
    public async Task<long> Import()
    {
        var importer = new LackeyImporter([_plain], new ImportOptions());
        ImportStats stats = await ImportOutput.WriteAsync(Path.Combine(_dir, "bench.pq"), new KernelOptions(), "bench", importer.Markers, importer.Run);
        return stats.Events;
    }

    private static long ParseFile(string path)
    {
        using var reader = LackeyReader.Open(path);
        long n = 0;
        while (reader.TryRead(out _))
        {
            n++;
        }

        return n;
    }
}
