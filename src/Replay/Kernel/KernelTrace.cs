using Replay.Engines.Caches;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Kernel;

/// <summary>
/// The one way a trace is made on the guest kernel model, shared by <c>replay gen</c> and <c>replay import</c>: the
/// trace metadata describes the kernel's guest (its options) plus what the caller says made it; a
/// <see cref="TraceWriter"/> (temporary file renamed at the end, so a failure leaves nothing and never touches an
/// existing file) receives every batch the kernel emits; the caller drives the kernel and may add metadata before the
/// file is completed.
/// </summary>
public static class KernelTrace
{
    /// <summary>
    /// Writes to <paramref name="path"/> the trace <paramref name="produce"/> makes on a guest kernel with
    /// <paramref name="options"/>. <paramref name="produce"/> runs the kernel (it need not call
    /// <see cref="GuestKernel.Complete"/>: this does, after it) and returns its result; <paramref name="finish"/> then
    /// sees the completed kernel and may set metadata on the writer. <paramref name="batchWritten"/> hears the kernel
    /// after each batch is written (for progress).
    /// </summary>
    public static async Task<T> WriteAsync<T>(string path, KernelOptions options, string source, IReadOnlyDictionary<ulong, string> markers,
        CachePressure pressure, Func<GuestKernel, T> produce, Action<GuestKernel, T, TraceWriter>? finish = null,
        Action<GuestKernel>? batchWritten = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(produce);
        var info = new TraceInfo
        {
            Vcpus = options.Vcpus,
            MemoryBytes = options.MemoryBytes,
            PagingLevels = options.PagingLevels,
            Pcid = options.Pcid,
            Source = source,
            Markers = markers,
            Pressure = pressure,
        };
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        await using var writer = await TraceWriter.CreateAsync(path, info, hasTime: true, ct: ct).ConfigureAwait(false);
        GuestKernel? kernel = null;
        kernel = new GuestKernel(options, b =>
        {
            writer.WriteAsync(b, ct).AsTask().GetAwaiter().GetResult();
            batchWritten?.Invoke(kernel!);
        });
        T result = produce(kernel);
        kernel.Complete();
        finish?.Invoke(kernel, result, writer);
        await writer.CompleteAsync(ct).ConfigureAwait(false);
        return result;
    }
}
