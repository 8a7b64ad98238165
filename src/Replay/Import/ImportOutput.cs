using Replay.Engines.Caches;
using Replay.Kernel;

namespace Replay.Import;

/// <summary>
/// Runs an importer into a trace file through <see cref="KernelTrace"/> (the entry point <c>gen</c> uses too): the
/// Linux-like guest kernel model with <see cref="KernelProcessHost"/> over it; the counts go into metadata key
/// <see cref="StatsKey"/>.
/// </summary>
public static class ImportOutput
{
    /// <summary>Metadata key holding <see cref="ImportStats.ToJson"/>.</summary>
    public const string StatsKey = "replay.import";

    /// <summary>
    /// Writes the trace <paramref name="import"/> produces on a guest kernel with <paramref name="kernel"/>'s options
    /// to <paramref name="path"/>; <paramref name="source"/> and <paramref name="markers"/> go into the metadata.
    /// </summary>
    public static async Task<ImportStats> WriteAsync(string path, KernelOptions kernel, string source, IReadOnlyDictionary<ulong, string> markers,
        Func<IProcessHost, ImportStats> import, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(import);
        return await KernelTrace.WriteAsync(path, kernel, source, markers, CachePressure.None,
            k => import(new KernelProcessHost(k)),
            (k, stats, writer) =>
            {
                stats.Events = k.Events;
                stats.InsnsUnwritten = k.PendingInstructions;
                stats.KernelInsns = k.KernelInstructions;
                writer.SetMetadata(StatsKey, stats.ToJson());
            },
            ct: ct).ConfigureAwait(false);
    }
}
