using System.CommandLine;
using System.Globalization;
using Replay.Gen;
using Replay.Kernel;

namespace Replay.Cli;

/// <summary><c>replay gen WORKLOAD -o FILE [--seed N] [--events N] [kernel options]</c>: synthetic guest workloads.</summary>
internal static class GenCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var workload = new Argument<string>("workload")
        {
            Description = "Workload to generate (what real workload it stands for):\n" + string.Join("\n", Workloads.All.Select(w => $"  {w.Name}: {w.Description}")),
        };
        workload.AcceptOnlyFromAmong(Workloads.All.Select(w => w.Name).ToArray());
        var output = new Option<string>("--output", "-o") { Description = "Trace file to write (.pq).", Required = true };
        var seed = NumberOptions.Int("--seed", "Random seed (same seed and options, same trace, byte for byte).", 1);
        var events = NumberOptions.Long("--events", "Approximate number of events.", 100_000, alias: "-n");
        var kernel = new KernelCliOptions();

        var cmd = new Command("gen", "Generate a synthetic guest trace from a Linux-like guest kernel model (well-formed per SPEC §1).")
        {
            workload, output, seed, events,
        };
        kernel.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var w = Workloads.Find(parse.GetValue(workload)!)!;
            string path = parse.GetValue(output)!;
            int s = parse.GetValue(seed);
            long n = parse.GetValue(events);
            KernelOptions options;
            try
            {
                options = kernel.Parse(parse);
            }
            catch (ArgumentException e)
            {
                stderr.WriteLine(e.Message);
                return CliApp.UsageError;
            }

            try
            {
                long rows;
                using (var progress = new ProgressBar(stderr) { Label = Path.GetFileName(path) })
                {
                    progress.Total = n;
                    rows = await GenerateAsync(w, path, s, n, options, progress, ct).ConfigureAwait(false);
                }

                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}: {rows:N0} events of workload '{w.Name}' (seed {s})"));
                return CliApp.Success;
            }
            catch (InvalidOperationException e)
            {
                stderr.WriteLine(e.Message);
                return CliApp.Failure;
            }
        });
        return cmd;
    }

    /// <summary>Generates workload <paramref name="w"/> into <paramref name="path"/>; returns the number of events.</summary>
    public static Task<long> GenerateAsync(Workload w, string path, int seed, long events, KernelOptions? options = null, CancellationToken ct = default) =>
        GenerateAsync(w, path, seed, events, options, null, ct);

    /// <summary>As above; <paramref name="progress"/> hears the fraction of <paramref name="events"/> written after each batch.</summary>
    public static async Task<long> GenerateAsync(Workload w, string path, int seed, long events, KernelOptions? options, IProgress<double>? progress,
        CancellationToken ct = default)
    {
        options ??= new KernelOptions();
        long written = 0;
        await KernelTrace.WriteAsync(path, options, Source(w, seed, events, options), w.Markers, w.Pressure,
            k =>
            {
                w.Generate(k, new WorkloadRandom(seed), events);
                return true;
            },
            (k, _, _) => written = k.Events,
            k => progress?.Report(Math.Min(1, k.Events / (double)events)),
            ct).ConfigureAwait(false);
        return written;
    }

    /// <summary>The command that makes this trace again (<c>replay.source</c>).</summary>
    public static string Source(Workload w, int seed, long events, KernelOptions o) =>
        string.Create(CultureInfo.InvariantCulture, $"replay gen {w.Name} --seed {seed} --events {events}") + KernelCliOptions.Describe(o);
}
