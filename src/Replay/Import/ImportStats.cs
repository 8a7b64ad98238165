using System.Globalization;
using System.Text.Json;
using Replay.Engines.Trace;

namespace Replay.Import;

/// <summary>What an import read and what it skipped; plain counters, printed by the CLI and stored in the trace metadata.</summary>
public sealed class ImportStats
{
    /// <summary>Instruction fetches imported.</summary>
    public long Fetches { get; set; }

    /// <summary>Loads imported.</summary>
    public long Loads { get; set; }

    /// <summary>Stores imported.</summary>
    public long Stores { get; set; }

    /// <summary>Read-modify-writes imported (each a load then a store).</summary>
    public long Modifies { get; set; }

    /// <summary>Malformed records or lines counted and skipped (<c>--skip-bad</c>).</summary>
    public long BadRecords { get; set; }

    /// <summary>drmemtrace records that touch no page on purpose: prefetches, no-fetch instructions (rep iterations; also in <see cref="Insns"/>), cache flushes.</summary>
    public long Ignored { get; set; }

    /// <summary>
    /// Instructions of the input not replayed as fetch events, handed to the host with <see cref="IProcessHost.Retire"/>
    /// (so written as <c>insns</c>): drmemtrace no-fetch instructions, the instructions of a bundle after its first,
    /// and instruction records skipped as bad.
    /// </summary>
    public long Insns { get; set; }

    /// <summary>
    /// Instructions retired (the input's or the kernel's) that no later event on their vCPU carried, so the trace does not
    /// hold them: the input ending in instructions on a vCPU that then emits nothing, or the last exit's kernel work.
    /// </summary>
    public long InsnsUnwritten { get; set; }

    /// <summary>
    /// Instructions the guest kernel model's own paths added (context switches, exits; see <c>KernelCosts</c>): the
    /// trace's Σ insns is <see cref="Insns"/> plus these, minus <see cref="InsnsUnwritten"/>.
    /// </summary>
    public long KernelInsns { get; set; }

    /// <summary>Processes created.</summary>
    public int Processes { get; set; }

    /// <summary>Threads (drmemtrace) or files (lackey) read.</summary>
    public int Threads { get; set; }

    /// <summary>Trace events written.</summary>
    public long Events { get; set; }

    /// <summary>Access records imported (a modify counts once).</summary>
    public long Records => Fetches + Loads + Stores + Modifies;

    /// <summary>
    /// Instructions the input records: <see cref="Fetches"/> (one instruction each) plus <see cref="Insns"/>. The
    /// trace's SPEC §5 <c>instructions</c> (fetch events plus Σ insns) is this minus <see cref="InsnsUnwritten"/>,
    /// plus one for every fetch the guest kernel emits twice (a faulting fetch and its retry, or the second page of a
    /// fetch that crosses a page boundary).
    /// </summary>
    public long Instructions => Fetches + Insns;

    /// <summary>The counters as a JSON object (the <c>replay.import</c> metadata value).</summary>
    public string ToJson() => JsonSerializer.Serialize(new SortedDictionary<string, long>
    {
        ["fetches"] = Fetches,
        ["loads"] = Loads,
        ["stores"] = Stores,
        ["modifies"] = Modifies,
        ["bad_records"] = BadRecords,
        ["ignored"] = Ignored,
        ["processes"] = Processes,
        ["threads"] = Threads,
        ["events"] = Events,
        ["instructions"] = Instructions,
        ["insns"] = Insns,
        ["insns_unwritten"] = InsnsUnwritten,
        ["kernel_insns"] = KernelInsns,
    });

    /// <summary>Counts one imported access of <paramref name="kind"/>: a fetch, a store, or (any other op) a load.</summary>
    public void Count(TraceOp kind)
    {
        switch (kind)
        {
            case TraceOp.Fetch:
                Fetches++;
                break;
            case TraceOp.Write:
                Stores++;
                break;
            default:
                Loads++;
                break;
        }
    }

    /// <summary>
    /// Throws when the import read no valid access record from <paramref name="inputs"/> (a binary file read with
    /// <c>--skip-bad</c>, an empty trace, the wrong format): a trace of kernel events alone is not what was asked for,
    /// so the import fails before anything is written.
    /// </summary>
    public void RequireRecords(string inputs)
    {
        if (Records == 0)
        {
            string skipped = BadRecords > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({BadRecords:N0} malformed skipped)") : "";
            throw new ImportFormatException($"{inputs}: no valid access record in it{skipped}, so no trace was written.");
        }
    }

    /// <summary>One line for people.</summary>
    public override string ToString()
    {
        string unwritten = InsnsUnwritten > 0
            ? string.Create(CultureInfo.InvariantCulture, $", {InsnsUnwritten:N0} after the last event of their vCPU, not in the trace")
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Records:N0} records ({Fetches:N0} fetches, {Loads:N0} loads, {Stores:N0} stores, {Modifies:N0} modifies) " +
            $"from {Plural(Threads, "input")} in {Plural(Processes, "process")}; " +
            $"{BadRecords:N0} bad skipped; {Ignored:N0} ignored; " +
            $"{Instructions:N0} instructions ({Insns:N0} without a fetch event{unwritten}); {KernelInsns:N0} of kernel work added; {Events:N0} events written");
    }

    private static string Plural(long n, string word) =>
        string.Create(CultureInfo.InvariantCulture, $"{n:N0} {word}{(n == 1 ? "" : word.EndsWith('s') ? "es" : "s")}");
}
