using System.CommandLine;
using System.Globalization;
using Replay.Kernel;

namespace Replay.Cli;

/// <summary>
/// The guest kernel model's options on the command line, shared by <c>replay gen</c> and <c>replay import</c>:
/// <c>--vcpus --memory --levels --pcid --kpti --thp --ptdying --eager-fork</c>.
/// </summary>
internal sealed class KernelCliOptions
{
    public Option<int> Vcpus { get; } = NumberOptions.Int("--vcpus", "Guest vCPUs (1-64); processes are scheduled over them.", 1, min: 1, max: 64);

    public Option<string> Memory { get; } = new("--memory")
    {
        Description = "Guest physical memory (bytes, or with K/M/G/T), bounds the frame allocator; pages are reclaimed when it runs out.",
        DefaultValueFactory = _ => "4G",
    };

    public Option<int> Levels { get; } = NumberOptions.Int("--levels", "Paging levels: 4 (48-bit) or 5 (57-bit).", 4, min: 4, max: 5);

    public Option<bool> Pcid { get; } = new("--pcid") { Description = "PCID as Linux uses it: 6 dynamic ASIDs per vCPU, CR3 bit 63 when the ASID's entries are still valid." };

    public Option<bool> Kpti { get; } = new("--kpti") { Description = "Kernel page-table isolation: two roots per process, CR3 switched on every kernel entry and exit (user PCID = kernel PCID + 2048)." };

    public Option<bool> Thp { get; } = new("--thp") { Description = "Transparent huge pages: data faults in an empty 2 MiB region map a 2 MiB page." };

    public Option<bool> PtDying { get; } = new("--ptdying") { Description = "Emit the ptdying hint before tearing an address space down." };

    public Option<bool> EagerFork { get; } = new("--eager-fork")
    {
        Description = "fork copies every present leaf, text included, as Linux did before 2.6.14's lazy page-table copies (the kernels of 2005-2006); by default text is left to the page cache.",
    };

    /// <summary>The options in the order <c>--help</c> lists them.</summary>
    public IEnumerable<Option> Symbols => [Vcpus, Memory, Levels, Pcid, Kpti, Thp, PtDying, EagerFork];

    public void AddTo(Command cmd)
    {
        foreach (var o in Symbols)
        {
            cmd.Add(o);
        }
    }

    /// <summary>The validated kernel options; a bad value is an <see cref="ArgumentException"/> with a one-sentence message.</summary>
    public KernelOptions Parse(ParseResult parse)
    {
        var options = new KernelOptions
        {
            Vcpus = parse.GetValue(Vcpus),
            MemoryBytes = ParseSize(parse.GetValue(Memory)!),
            PagingLevels = parse.GetValue(Levels),
            Pcid = parse.GetValue(Pcid),
            Kpti = parse.GetValue(Kpti),
            Thp = parse.GetValue(Thp),
            PtDying = parse.GetValue(PtDying),
            EagerFork = parse.GetValue(EagerFork),
        };
        options.Validate();
        return options;
    }

    /// <summary>The options that differ from the defaults, as command-line text (for <c>replay.source</c>).</summary>
    public static string Describe(KernelOptions o)
    {
        var d = new KernelOptions();
        string s = "";
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
            s += string.Create(CultureInfo.InvariantCulture, $" --levels {o.PagingLevels}");
        }

        return s + (o.Pcid ? " --pcid" : "") + (o.Kpti ? " --kpti" : "") + (o.Thp ? " --thp" : "") + (o.PtDying ? " --ptdying" : "")
            + (o.EagerFork ? " --eager-fork" : "");
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
