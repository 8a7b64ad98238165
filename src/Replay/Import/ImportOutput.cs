using Replay.Engines.Trace;
using Replay.Gen.Kernel;
using Replay.Trace;

namespace Replay.Import;

/// <summary>
/// Runs an importer into a trace file: a <see cref="TraceWriter"/> (temporary file renamed at the end, so a
/// failed import leaves nothing and never touches an existing file), the Linux-like guest kernel model
/// (<see cref="GuestKernel"/>) with <see cref="KernelProcessHost"/> over it. The trace metadata describes the
/// kernel's guest; the counts go into metadata key <see cref="StatsKey"/>.
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
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(import);
        var info = new TraceInfo
        {
            Vcpus = kernel.Vcpus,
            MemoryBytes = kernel.MemoryBytes,
            PagingLevels = kernel.PagingLevels,
            Pcid = kernel.Pcid,
            Source = source,
            Markers = markers,
        };
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        await using var writer = await TraceWriter.CreateAsync(path, info, hasTime: true, ct: ct).ConfigureAwait(false);
        var host = new KernelProcessHost(new GuestKernel(kernel, b => writer.WriteAsync(b, ct).AsTask().GetAwaiter().GetResult()));
        ImportStats stats = import(host);
        host.Complete();
        stats.Events = host.Events;
        stats.InsnsUnwritten = host.PendingInstructions;
        stats.KernelInsns = host.KernelInstructions;
        writer.SetMetadata(StatsKey, stats.ToJson());
        await writer.CompleteAsync(ct).ConfigureAwait(false);
        return stats;
    }
}
