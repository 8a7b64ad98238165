using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Replay.Engines.Trace;

namespace Replay.TraceIO;

/// <summary>
/// Reads a trace (SPEC §1) one row group at a time into a caller's reused <see cref="EventBatch"/>.
/// The columns of a group decode in parallel. A caller that alternates two batches (reading the next
/// while it replays the current) gets each group decoded straight into its batch; a caller that passes
/// the same batch every time gets the next group decoded ahead into a second buffer while it works, then
/// copied. Either way memory is about two row groups whatever the trace length, and events always come
/// in file order. Every row is checked; a bad one throws a <see cref="TraceFormatException"/> when the
/// caller reaches its group. One call at a time.
/// </summary>
public sealed class TraceReader : IDisposable, IAsyncDisposable
{
    private readonly RowGroupDecoder _groups;
    private readonly SafeFileHandle _handle;
    private readonly EventBatch _ahead;
    private readonly CancellationTokenSource _stop = new();
    private Task? _inflight;
    private int _inflightGroup = -1;
    private int _next;
    private EventBatch? _lastBatch;
    private bool _disposed;

    private TraceReader(string path, TraceInfo info, IReadOnlyDictionary<string, string> metadata, RowGroupDecoder groups, SafeFileHandle handle, EventBatch ahead)
    {
        _handle = handle;
        Path = path;
        Info = info;
        Metadata = metadata;
        _groups = groups;
        _ahead = ahead;
    }

    public string Path { get; }

    public long RowCount => _groups.RowCount;

    public int RowGroupCount => _groups.Count;

    /// <summary>The guest the trace was recorded on; SPEC §1 defaults fill what the metadata lacks.</summary>
    public TraceInfo Info { get; }

    /// <summary>The file's key-value metadata as stored.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>True when the trace has a <c>time</c> column.</summary>
    public bool HasTime => _groups.HasTime;

    /// <summary>Opens a trace and reads its schema and metadata; throws <see cref="TraceFormatException"/> when it cannot be a trace.</summary>
    public static async Task<TraceReader> OpenAsync(string path, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ParquetFile file = await ParquetFile.OpenAsync(path, ct);
        RowGroupDecoder? groups = null;
        try
        {
            TraceSchema schema = TraceSchema.Map(file.Reader.Schema, path);
            var metadata = new Dictionary<string, string>(file.Reader.CustomMetadata ?? []);
            TraceInfo info = TraceMetadata.Parse(metadata, path, out int? vcpus);
            groups = RowGroupDecoder.Open(file, schema);
            var ahead = new EventBatch(0);
            groups.Vcpus = vcpus ?? await VcpuCount.FromDataAsync(file.Reader, schema[TraceColumn.Vcpu], groups, ahead, ct);
            return new TraceReader(path, info with { Vcpus = groups.Vcpus }, metadata, groups, file.Handle, ahead);
        }
        catch (Exception e) when (e is not TraceFormatException and not OperationCanceledException)
        {
            await DisposeQuietlyAsync(groups, file);
            throw new TraceFormatException(path, null, null, "a damaged Parquet file", e);
        }
        catch
        {
            await DisposeQuietlyAsync(groups, file);
            throw;
        }
    }

    /// <summary>
    /// The SHA-256 of the whole file, in lowercase hex, read through the reader's own handle by positional reads, so
    /// it may run beside decoding (and the file is not opened again). Wait for it before disposing the reader.
    /// </summary>
    public string Sha256(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        long at = 0;
        int n;
        while ((n = RandomAccess.Read(_handle, buffer, at)) > 0)
        {
            ct.ThrowIfCancellationRequested();
            hash.AppendData(buffer, 0, n);
            at += n;
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// Fills <paramref name="batch"/> with the next row group (Count, FirstRow, HasTime and the columns);
    /// false when the trace is exhausted.
    /// </summary>
    public async ValueTask<bool> ReadNextAsync(EventBatch batch, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        if (_next >= _groups.Count)
        {
            return false;
        }

        // Prefetching only pays when the caller cannot overlap reading with its own work, i.e. reuses one batch.
        bool prefetch = ReferenceEquals(batch, _lastBatch);
        _lastBatch = batch;
        int group = _next++;
        if (_inflight is { } ready && _inflightGroup == group)
        {
            _inflightGroup = -1;
            await ready.WaitAsync(ct);
            BatchCopy.CopyAll(_ahead, batch);
        }
        else
        {
            await DrainAsync();
            await _groups.DecodeAsync(group, batch, ct);
        }

        if (prefetch)
        {
            StartPrefetch();
        }

        return true;
    }

    /// <summary>Starts again from the first row group (a prefetch already running is waited out, then dropped).</summary>
    public void Rewind()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _next = 0;
        _inflightGroup = -1;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stop.CancelAsync();
        await DrainAsync();
        await _groups.DisposeAsync();
        _stop.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private void StartPrefetch()
    {
        if (_next >= _groups.Count)
        {
            return;
        }

        int group = _next;
        _inflightGroup = group;
        CancellationToken stop = _stop.Token;
        _inflight = Task.Run(() => _groups.DecodeAsync(group, _ahead, stop), stop);
    }

    /// <summary>Waits for any decode still writing the second buffer; its result, even an error, is no longer wanted.</summary>
    private async Task DrainAsync()
    {
        if (_inflight is { } task)
        {
            _inflight = null;
            _inflightGroup = -1;
            try
            {
                await task;
            }
            catch (Exception)
            {
                // Dropped prefetch: the group is decoded again (and its error raised) if it is read.
            }
        }
    }

    /// <summary>Disposes what an open that failed made: the decoder when it got that far (it owns the file), else the file.</summary>
    private static async ValueTask DisposeQuietlyAsync(RowGroupDecoder? groups, ParquetFile file)
    {
        if (groups is not null)
        {
            await groups.DisposeAsync();
        }
        else
        {
            await file.DisposeAsync();
        }
    }
}
