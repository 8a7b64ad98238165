using System.Globalization;
using System.Text.Json;

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

    /// <summary>drmemtrace records that touch no page on purpose: prefetches, no-fetch instructions (rep iterations), cache flushes.</summary>
    public long Ignored { get; set; }

    /// <summary>Processes created.</summary>
    public int Processes { get; set; }

    /// <summary>Threads (drmemtrace) or files (lackey) read.</summary>
    public int Threads { get; set; }

    /// <summary>Trace events written.</summary>
    public long Events { get; set; }

    /// <summary>Access records imported (a modify counts once).</summary>
    public long Records => Fetches + Loads + Stores + Modifies;

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
    });

    /// <summary>One line for people.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Records:N0} records ({Fetches:N0} fetches, {Loads:N0} loads, {Stores:N0} stores, {Modifies:N0} modifies) " +
        $"from {Plural(Threads, "input")} in {Plural(Processes, "process")}; " +
        $"{BadRecords:N0} bad skipped; {Ignored:N0} ignored; {Events:N0} events written");

    private static string Plural(long n, string word) =>
        string.Create(CultureInfo.InvariantCulture, $"{n:N0} {word}{(n == 1 ? "" : word.EndsWith('s') ? "es" : "s")}");
}
