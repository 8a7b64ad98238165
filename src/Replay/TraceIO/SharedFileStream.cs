using Microsoft.Win32.SafeHandles;

namespace Replay.TraceIO;

/// <summary>
/// The trace's one open file as a read-only <see cref="Stream"/> for its one <see cref="Parquet.ParquetReader"/>, read
/// by positional reads (<see cref="RandomAccess"/>, pread) of the handle, so Parquet.Net can decode several columns of
/// a row group at once (<see cref="ColumnDecoder"/>'s fallback) from one footer parse and one open. A stream has one
/// position, and Parquet.Net seeks it before every page; here each column's decode has a position of its own
/// (<see cref="Use"/>: a cursor carried by the decode's async flow, so it follows the decode across threads and awaits),
/// and everything outside any <see cref="Use"/> (the footer parse, statistics) shares a default one. A cursor also
/// serves the column chunk the decoder has already read and checked against its page CRCs from memory, so Parquet.Net
/// decodes exactly the bytes that were checked. Owns the handle.
/// </summary>
internal sealed class SharedFileStream : ReadOnlyStream
{
    private readonly SafeFileHandle _file;
    private readonly long _length;
    private readonly AsyncLocal<Cursor?> _current = new();
    private readonly Cursor _shared = new(0, ReadOnlyMemory<byte>.Empty);

    public SharedFileStream(SafeFileHandle file)
        : base(file)
    {
        _file = file;
        _length = RandomAccess.GetLength(file);
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override long Length => _length;

    public override long Position
    {
        get => Current.Position;
        set => Current.Position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    private Cursor Current => _current.Value ?? _shared;

    /// <summary>
    /// Until the returned scope is disposed, reads made by the calling async flow (the caller and everything it awaits)
    /// have a position of their own, and the file's bytes [<paramref name="start"/>, <paramref name="start"/> +
    /// <paramref name="bytes"/>.Length) come from <paramref name="bytes"/> (the same bytes, already read).
    /// </summary>
    public Scope Use(long start, ReadOnlyMemory<byte> bytes)
    {
        _current.Value = new Cursor(start, bytes);
        return new Scope(_current);
    }

    public override int Read(Span<byte> buffer)
    {
        Cursor c = Current;
        int n = c.Read(_file, buffer, _length);
        c.Position += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => Position + offset,
        _ => _length + offset,
    };

    /// <summary>Ends a <see cref="Use"/>: the flow's reads share the default position again.</summary>
    public readonly struct Scope(AsyncLocal<Cursor?> current) : IDisposable
    {
        public void Dispose() => current.Value = null;
    }

    /// <summary>One reader's position, and the bytes it has in memory from <see cref="Start"/> on.</summary>
    internal sealed class Cursor(long start, ReadOnlyMemory<byte> bytes)
    {
        public long Position { get; set; }

        private long Start => start;

        public int Read(SafeFileHandle file, Span<byte> dst, long length)
        {
            long at = Position;
            if (at >= length || dst.IsEmpty)
            {
                return 0;
            }

            if (at >= Start && at < Start + bytes.Length)
            {
                ReadOnlySpan<byte> held = bytes.Span[(int)(at - Start)..];
                int n = Math.Min(held.Length, dst.Length);
                held[..n].CopyTo(dst);
                return n;
            }

            return RandomAccess.Read(file, dst[..(int)Math.Min(dst.Length, length - at)], at);
        }
    }
}
