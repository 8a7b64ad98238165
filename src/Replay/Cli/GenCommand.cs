using System.CommandLine;
using System.Globalization;
using Replay.Engines.Trace;
using Replay.Gen;
using Replay.Gen.Kernel;
using Replay.Trace;

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
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed and options, same trace, byte for byte).", DefaultValueFactory = _ => 1 };
        var events = new Option<long>("--events", "-n") { Description = "Approximate number of events.", DefaultValueFactory = _ => 100_000 };
        events.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<long>() <= 0)
            {
                r.AddError("--events must be positive.");
            }
        });
        var vcpus = new Option<int>("--vcpus") { Description = "Guest vCPUs (1-64); processes are scheduled over them.", DefaultValueFactory = _ => 1 };
        var memory = new Option<string>("--memory") { Description = "Guest physical memory (bytes, or with K/M/G/T), bounds the frame allocator; pages are reclaimed when it runs out.", DefaultValueFactory = _ => "4G" };
        var levels = new Option<int>("--levels") { Description = "Paging levels: 4 (48-bit) or 5 (57-bit).", DefaultValueFactory = _ => 4 };
        var pcid = new Option<bool>("--pcid") { Description = "PCID as Linux uses it: 6 dynamic ASIDs per vCPU, CR3 bit 63 when the ASID's entries are still valid." };
        var kpti = new Option<bool>("--kpti") { Description = "Kernel page-table isolation: two roots per process, CR3 switched on every kernel entry and exit (user PCID = kernel PCID + 2048)." };
        var thp = new Option<bool>("--thp") { Description = "Transparent huge pages: data faults in an empty 2 MiB region map a 2 MiB page." };
        var ptdying = new Option<bool>("--ptdying") { Description = "Emit the ptdying hint before tearing an address space down." };

        var cmd = new Command("gen", "Generate a synthetic guest trace from a Linux-like guest kernel model (well-formed per SPEC §1).")
        {
            workload, output, seed, events, vcpus, memory, levels, pcid, kpti, thp, ptdying,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            var w = Workloads.Find(parse.GetValue(workload)!)!;
            string path = parse.GetValue(output)!;
            int s = parse.GetValue(seed);
            long n = parse.GetValue(events);
            KernelOptions options;
            try
            {
                options = new KernelOptions
                {
                    Vcpus = parse.GetValue(vcpus),
                    MemoryBytes = ParseSize(parse.GetValue(memory)!),
                    PagingLevels = parse.GetValue(levels),
                    Pcid = parse.GetValue(pcid),
                    Kpti = parse.GetValue(kpti),
                    Thp = parse.GetValue(thp),
                    PtDying = parse.GetValue(ptdying),
                };
                options.Validate();
            }
            catch (ArgumentException e)
            {
                stderr.WriteLine(e.Message);
                return CliApp.UsageError;
            }

            try
            {
                long rows = await GenerateAsync(w, path, s, n, options, ct).ConfigureAwait(false);
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
    public static async Task<long> GenerateAsync(Workload w, string path, int seed, long events, KernelOptions? options = null, CancellationToken ct = default)
    {
        options ??= new KernelOptions();
        var info = new TraceInfo
        {
            Vcpus = options.Vcpus,
            MemoryBytes = options.MemoryBytes,
            PagingLevels = options.PagingLevels,
            Pcid = options.Pcid,
            Source = Source(w, seed, events, options),
            Markers = w.Markers,
        };
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        await using var writer = await TraceWriter.CreateAsync(path, info, hasTime: true, ct: ct).ConfigureAwait(false);
        var kernel = new GuestKernel(options, b => writer.WriteAsync(b, ct).AsTask().GetAwaiter().GetResult());
        w.Generate(kernel, new WorkloadRandom(seed), events);
        kernel.Complete();
        await writer.CompleteAsync(ct).ConfigureAwait(false);
        return kernel.Events;
    }

    /// <summary>The command that makes this trace again (<c>replay.source</c>).</summary>
    public static string Source(Workload w, int seed, long events, KernelOptions o)
    {
        var s = string.Create(CultureInfo.InvariantCulture, $"replay gen {w.Name} --seed {seed} --events {events}");
        var d = new KernelOptions();
        if (o.Vcpus != d.Vcpus)
        {
            s += string.Create(CultureInfo.InvariantCulture, $" --vcpus {o.Vcpus}");
        }

        if (o.MemoryBytes != d.MemoryBytes)
        {
            s += string.Create(CultureInfo.InvariantCulture, $" --memory {o.MemoryBytes}");
        }

        if (o.PagingLevels != d.PagingLevels)
        {
            s += " --levels 5";
        }

        s += (o.Pcid ? " --pcid" : "") + (o.Kpti ? " --kpti" : "") + (o.Thp ? " --thp" : "") + (o.PtDying ? " --ptdying" : "");
        return s;
    }

    /// <summary>Bytes from "4294967296", "512M", "4G", "1T" (binary units).</summary>
    public static ulong ParseSize(string text)
    {
        string t = text.Trim().ToUpperInvariant().TrimEnd('B').TrimEnd('I');
        int shift = t.Length > 0 ? t[^1] switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 } : 0;
        if (shift > 0)
        {
            t = t[..^1];
        }

        if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) || n == 0 || n > (ulong.MaxValue >> shift))
        {
            throw new ArgumentException($"--memory '{text}' is not a size (e.g. 512M, 4G, or a number of bytes).");
        }

        return n << shift;
    }
}
