using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using Replay.TraceIO;

namespace Replay.Import;

/// <summary>
/// Decompresses a gzip file (RFC 1952) and checks it as <c>gzip -t</c> does, which <see cref="GZipStream"/> does not:
/// at the end of the data, the CRC-32 and length (ISIZE, mod 2^32) of what came out must equal the trailer in the
/// file's last 8 bytes. A file cut short, a missing trailer, a bare header and trailing garbage all fail it. A file of
/// several concatenated members (<c>cat a.gz b.gz</c>, <c>pigz -i</c>) decompresses as one stream whose last 8 bytes
/// are the last member's trailer: when the whole does not match, the output is decompressed a second time and the
/// last ISIZE bytes are checked against it, so the last member is verified and every member's deflate data is
/// checked by the inflater. A failure is an <see cref="ImportFormatException"/> naming the file.
/// </summary>
internal sealed class GzipCheckedStream : ReadOnlyStream
{
    /// <summary>A gzip member's fixed header (10 bytes) and trailer (8).</summary>
    private const int MinimumBytes = 18;

    private readonly Stream _file;
    private readonly string _name;
    private readonly uint _trailerCrc;
    private readonly uint _trailerSize;
    private readonly Crc32 _crc = new();
    private readonly long _start;
    private readonly bool _leaveOpen;
    private GZipStream _gzip;
    private long _length;
    private bool _checked;

    /// <param name="file">The compressed file, seekable, positioned at its first byte.</param>
    /// <param name="name">The file as errors name it.</param>
    /// <param name="leaveOpen">Leave <paramref name="file"/> open when this stream is disposed.</param>
    public GzipCheckedStream(Stream file, string name, bool leaveOpen)
        : base(null)
    {
        _file = file;
        _name = name;
        _leaveOpen = leaveOpen;
        long start = _start = file.Position;
        long size = file.Length - start;
        if (size < MinimumBytes)
        {
            throw new ImportFormatException($"{name}: the gzip data is truncated: {size} bytes, less than the {MinimumBytes} of a header and trailer.");
        }

        Span<byte> trailer = stackalloc byte[8];
        file.Position = file.Length - 8;
        file.ReadExactly(trailer);
        file.Position = start;
        _trailerCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        _trailerSize = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        _gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = _gzip.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new ImportFormatException($"{_name}: the gzip data is corrupt near compressed byte {_file.Position}: {e.Message}", e);
        }

        if (read > 0)
        {
            _crc.Append(buffer[..read]);
            _length += read;
        }
        else if (buffer.Length > 0 && !_checked)
        {
            _checked = true;
            CheckTrailer();
        }

        return read;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    protected override void DisposeOwned()
    {
        _gzip.Dispose();
        if (!_leaveOpen)
        {
            _file.Dispose();
        }
    }

    private void CheckTrailer()
    {
        uint crc = _crc.GetCurrentHashAsUInt32();
        if (crc == _trailerCrc && unchecked((uint)_length) == _trailerSize)
        {
            return;
        }

        if (_trailerSize < _length && LastMemberMatches())
        {
            return;
        }

        throw new ImportFormatException(
            $"{_name}: the gzip data is truncated or corrupt: its last 8 bytes (CRC-32 {_trailerCrc:x8}, size {_trailerSize}) are not the trailer of the {_length} bytes it decompresses to (CRC-32 {crc:x8}), as 'gzip -t' would also report.");
    }

    /// <summary>The second pass for several members: the CRC-32 of the last <see cref="_trailerSize"/> bytes of the output.</summary>
    private bool LastMemberMatches()
    {
        _gzip.Dispose();
        _file.Position = _start;
        _gzip = new GZipStream(_file, CompressionMode.Decompress, leaveOpen: true);
        long skip = _length - _trailerSize;
        var crc = new Crc32();
        byte[] buffer = new byte[1 << 16];
        for (int read; (read = _gzip.Read(buffer)) > 0;)
        {
            int from = (int)Math.Clamp(skip, 0, read);
            crc.Append(buffer.AsSpan(from, read - from));
            skip -= from;
        }

        return crc.GetCurrentHashAsUInt32() == _trailerCrc;
    }
}
