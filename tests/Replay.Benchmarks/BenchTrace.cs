using Replay.Cli;
using Replay.Gen;

namespace Replay.Benchmarks;

/// <summary>
/// The benchmark trace: a generated ctxswitch trace, made once per machine and build of the generator and
/// reused. The file name carries the generator assembly's module version id (stable across deterministic
/// rebuilds of the same source), so a changed generator never benchmarks a stale trace.
/// </summary>
internal static class BenchTrace
{
    public static long Events =>
        long.TryParse(Environment.GetEnvironmentVariable("REPLAY_BENCH_EVENTS"), out long n) && n > 0 ? n : 10_000_000;

    public static string Path(string workload = "ctxswitch")
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"replay-bench-{workload}-{Events}-{typeof(Workloads).Assembly.ManifestModule.ModuleVersionId:N}.pq");
        if (!File.Exists(path))
        {
            GenCommand.GenerateAsync(Workloads.Find(workload)!, path, seed: 1, Events).GetAwaiter().GetResult();
        }

        return path;
    }
}
