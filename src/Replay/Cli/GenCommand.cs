using System.CommandLine;
using System.Globalization;
using Replay.Engines.Trace;
using Replay.Gen;
using Replay.Trace;

namespace Replay.Cli;

/// <summary><c>replay gen WORKLOAD -o FILE [--seed N] [--events N]</c>: synthetic guest workloads.</summary>
internal static class GenCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var workload = new Argument<string>("workload")
        {
            Description = "Workload to generate:\n" + string.Join("\n", Workloads.All.Select(w => $"  {w.Name}: {w.Description}")),
        };
        workload.AcceptOnlyFromAmong(Workloads.All.Select(w => w.Name).ToArray());
        var output = new Option<string>("--output", "-o") { Description = "Trace file to write (.pq).", Required = true };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same trace, byte for byte).", DefaultValueFactory = _ => 1 };
        var events = new Option<long>("--events", "-n") { Description = "Approximate number of events.", DefaultValueFactory = _ => 100_000 };
        events.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long>() <= 0)
            {
                r.AddError("--events must be positive.");
            }
        });

        var cmd = new Command("gen", "Generate a synthetic guest trace (well-formed per SPEC §1).") { workload, output, seed, events };
        cmd.SetAction(async (parse, ct) =>
        {
            var w = Workloads.Find(parse.GetValue(workload)!)!;
            string path = parse.GetValue(output)!;
            int s = parse.GetValue(seed);
            long n = parse.GetValue(events);
            long rows = await GenerateAsync(w, path, s, n, ct).ConfigureAwait(false);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}: {rows:N0} events of workload '{w.Name}' (seed {s})"));
            _ = stderr;
            return CliApp.Success;
        });
        return cmd;
    }

    /// <summary>Generates workload <paramref name="w"/> into <paramref name="path"/>; returns the number of events.</summary>
    public static async Task<long> GenerateAsync(Workload w, string path, int seed, long events, CancellationToken ct = default)
    {
        var info = new TraceInfo
        {
            Vcpus = 1,
            Source = string.Create(CultureInfo.InvariantCulture, $"replay gen {w.Name} --seed {seed} --events {events}"),
            Markers = w.Markers,
        };
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        await using var writer = await TraceWriter.CreateAsync(path, info, hasTime: true, ct: ct).ConfigureAwait(false);
        var builder = new GuestBuilder(b => writer.WriteAsync(b, ct).AsTask().GetAwaiter().GetResult(), info.Vcpus);
        w.Generate(builder, new Random(seed), events);
        builder.Complete();
        await writer.CompleteAsync(ct).ConfigureAwait(false);
        return builder.Events;
    }
}
