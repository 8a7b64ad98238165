using Replay.Engines.Trace;
using Replay.Gen;
using Replay.Trace;

namespace Replay.Import;

/// <summary>
/// Runs an importer into a trace file: a <see cref="TraceWriter"/> (temporary file renamed at the end, so a
/// failed import leaves nothing and never touches an existing file), a <see cref="GuestBuilder"/> and the
/// <see cref="BuilderProcessHost"/> over it. The counts go into metadata key <see cref="StatsKey"/>.
/// </summary>
public static class ImportOutput
{
    /// <summary>Metadata key holding <see cref="ImportStats.ToJson"/>.</summary>
    public const string StatsKey = "replay.import";

    /// <summary>Writes the trace <paramref name="import"/> produces on a host with <paramref name="info"/>'s guest to <paramref name="path"/>.</summary>
    public static async Task<ImportStats> WriteAsync(string path, TraceInfo info, Func<IProcessHost, ImportStats> import, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(import);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        await using var writer = await TraceWriter.CreateAsync(path, info, hasTime: true, ct: ct).ConfigureAwait(false);
        var builder = new GuestBuilder(b => writer.WriteAsync(b, ct).AsTask().GetAwaiter().GetResult(), info.Vcpus);
        var host = new BuilderProcessHost(builder, info.MemoryBytes);
        ImportStats stats = import(host);
        host.Complete();
        stats.Events = host.Events;
        writer.SetMetadata(StatsKey, stats.ToJson());
        await writer.CompleteAsync(ct).ConfigureAwait(false);
        return stats;
    }
}
