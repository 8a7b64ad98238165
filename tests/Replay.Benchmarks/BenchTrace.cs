using Replay.Cli;
using Replay.Gen;

namespace Replay.Benchmarks;

/// <summary>
/// The benchmark traces, made once per machine and build of the generator and reused from the temp folder: every
/// named workload generated with <c>replay gen</c> (seed 1, <see cref="Events"/> events), <see cref="Lackey"/> (a
/// synthetic lackey file of <see cref="Events"/> lines imported with <c>replay import lackey</c>) and
/// <see cref="Cachelab"/> (the shared CS:APP cache-lab sample <c>long.trace</c> imported the same way). File names
/// carry the generator assembly's module version id (stable across deterministic rebuilds of the same source), so
/// a changed generator or importer never benchmarks a stale trace. Files are written under a temporary name and
/// renamed (the trace writer does that), so an interrupted run leaves no truncated trace behind.
/// </summary>
internal static class BenchTrace
{
    /// <summary>The imported synthetic lackey trace (<see cref="LackeyBenchFile"/>, <see cref="Events"/> lines).</summary>
    public const string Lackey = "lackey";

    /// <summary>The imported CS:APP cache-lab sample <c>shared/samples/cachelab/long.trace</c> (268k records).</summary>
    public const string Cachelab = "cachelab";

    public static long Events =>
        long.TryParse(Environment.GetEnvironmentVariable("REPLAY_BENCH_EVENTS"), out long n) && n > 0 ? n : 10_000_000;

    private static Guid Build => typeof(Workloads).Assembly.ManifestModule.ModuleVersionId;

    /// <summary>Where trace <paramref name="name"/> is cached (it may not exist yet).</summary>
    private static string FileOf(string name) => System.IO.Path.Combine(System.IO.Path.GetTempPath(), name switch
    {
        Cachelab => $"replay-bench-cachelab-long-{Build:N}.pq",
        _ => $"replay-bench-{name}-{Events}-{Build:N}.pq",
    });

    /// <summary>The trace file of workload or import <paramref name="name"/>, made first if it is not cached.</summary>
    public static string Path(string name = "ctxswitch")
    {
        string path = FileOf(name);
        if (File.Exists(path))
        {
            return path;
        }

        switch (name)
        {
            case Lackey:
                string dir = Directory.CreateTempSubdirectory("replay-bench-lackey-").FullName;
                try
                {
                    string lackey = System.IO.Path.Combine(dir, "bench.lackey");
                    LackeyBenchFile.Write(lackey, Events);
                    Import(lackey, path);
                }
                finally
                {
                    Directory.Delete(dir, recursive: true);
                }

                break;
            case Cachelab:
                Import(CachelabSample(), path);
                break;
            default:
                var w = Workloads.Find(name) ?? throw new ArgumentException($"no workload or import named '{name}'", nameof(name));
                GenCommand.GenerateAsync(w, path, seed: 1, Events).GetAwaiter().GetResult();
                break;
        }

        return path;
    }

    /// <summary>
    /// Passes over a trace of <paramref name="rows"/> events that make one invocation of an in-memory benchmark: 1, except for a
    /// trace much shorter than <see cref="Events"/> (the cache-lab sample), which is replayed as many times over as
    /// it takes to reach <see cref="Events"/> events, each pass by a fresh engine.
    /// </summary>
    public static int Passes(long rows) => rows >= Events / 2 ? 1 : (int)Math.Ceiling(Events / (double)rows);

    /// <summary>Runs <c>replay import lackey INPUT -o OUTPUT</c> (the command itself, in process).</summary>
    private static void Import(string input, string output)
    {
        var stderr = new StringWriter();
        int rc = CliApp.RunAsync(["import", "lackey", input, "-o", output], TextWriter.Null, stderr).GetAwaiter().GetResult();
        if (rc != CliApp.Success)
        {
            throw new InvalidOperationException($"replay import lackey {input} -o {output} failed ({rc}): {stderr}");
        }
    }

    /// <summary>
    /// <c>shared/samples/cachelab/long.trace</c>: REPLAY_BENCH_CACHELAB if set, else the first <c>shared/</c> folder
    /// found beside this build's folder or one of its parents (the project keeps <c>shared/</c> beside the repository).
    /// </summary>
    private static string CachelabSample()
    {
        if (Environment.GetEnvironmentVariable("REPLAY_BENCH_CACHELAB") is { Length: > 0 } set)
        {
            return set;
        }

        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = System.IO.Path.Combine(d.FullName, "shared", "samples", "cachelab", "long.trace");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(
            $"shared/samples/cachelab/long.trace not found above {AppContext.BaseDirectory}; set REPLAY_BENCH_CACHELAB to its path");
    }
}
