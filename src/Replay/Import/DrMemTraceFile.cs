using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.IO.Hashing;

namespace Replay.Import;

/// <summary>One raw drmemtrace record: <c>u16 type, u16 size, u64 addr</c>, little-endian, packed (12 bytes).</summary>
public readonly record struct DrRecord(ushort Type, ushort Size, ulong Addr);

/// <summary>
/// Streams the records of one drmemtrace thread file: a zip whose members <c>chunk.NNNN</c> hold 12-byte
/// records, read in numeric member order through one reused buffer (memory bounded whatever the size).
/// Errors name the file, the member and the 0-based record in it.
/// </summary>
public sealed class DrMemTraceFile : IDisposable
{
    /// <summary>Bytes per record.</summary>
    public const int RecordBytes = 12;

    private const string ChunkPrefix = "chunk.";

    private readonly ZipArchive _zip;
    private readonly List<ZipArchiveEntry> _chunks;
    private readonly byte[] _buffer = new byte[RecordBytes * 8192];
    private int _chunk = -1;
    private Stream? _member;
    private readonly Crc32 _memberCrc = new();
    private long _memberBytes;
    private int _pos;
    private int _end;

    public DrMemTraceFile(string path)
        : this(path, null)
    {
    }

    /// <summary>Opens <paramref name="path"/>, its (compressed) bytes read counted by <paramref name="progress"/>.</summary>
    internal DrMemTraceFile(string path, ImportProgress? progress)
    {
        Path = path;
        Stream file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var stream = progress?.Counting(file) ?? file;
        try
        {
            _zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException e)
        {
            stream.Dispose();
            throw new ImportFormatException($"{path}: not a zip archive ({e.Message.TrimEnd('.')}).", e);
        }

        _chunks = _zip.Entries.Where(e => ChunkNumber(e.FullName) is not null).OrderBy(e => ChunkNumber(e.FullName)).ToList();
        if (_chunks.Count == 0)
        {
            _zip.Dispose();
            throw new ImportFormatException($"{path}: no chunk.NNNN members; not a drmemtrace thread file.");
        }
    }

    /// <summary>The zip file.</summary>
    public string Path { get; }

    /// <summary>Where the record last read is, for messages: <c>FILE:chunk.NNNN:record N</c>.</summary>
    public string Where => string.Create(CultureInfo.InvariantCulture,
        $"{Path}:{_chunks[Math.Max(_chunk, 0)].FullName}:record {RecordInMember - 1}");

    /// <summary>Records read from the current member so far.</summary>
    public long RecordInMember { get; private set; }

    /// <summary>The next record, or false after the last member.</summary>
    public bool TryRead(out DrRecord record)
    {
        while (_end - _pos < RecordBytes)
        {
            if (!Fill())
            {
                record = default;
                return false;
            }
        }

        var b = _buffer.AsSpan(_pos, RecordBytes);
        record = new DrRecord(BinaryPrimitives.ReadUInt16LittleEndian(b), BinaryPrimitives.ReadUInt16LittleEndian(b[2..]), BinaryPrimitives.ReadUInt64LittleEndian(b[4..]));
        _pos += RecordBytes;
        RecordInMember++;
        return true;
    }

    public void Dispose()
    {
        _member?.Dispose();
        _zip.Dispose();
    }

    /// <summary>Reads more bytes of the current member, or opens the next; false at the end of the last one.</summary>
    private bool Fill()
    {
        int kept = _end - _pos;
        Buffer.BlockCopy(_buffer, _pos, _buffer, 0, kept);
        _pos = 0;
        _end = kept;
        int read;
        try
        {
            read = _member?.Read(_buffer, _end, _buffer.Length - _end) ?? 0;
        }
        catch (InvalidDataException e)
        {
            throw new ImportFormatException($"{Path}:{_chunks[_chunk].FullName}: cannot be decompressed ({e.Message.TrimEnd('.')}).", e);
        }

        if (read > 0)
        {
            _memberCrc.Append(_buffer.AsSpan(_end, read));
            _memberBytes += read;
            _end += read;
            return true;
        }

        if (kept > 0)
        {
            throw new ImportFormatException($"{Path}:{_chunks[_chunk].FullName}: ends inside a record (its length is not a multiple of {RecordBytes}).");
        }

        if (_member is not null)
        {
            CheckMember(_chunks[_chunk]);
        }

        _member?.Dispose();
        _member = null;
        if (_chunk + 1 >= _chunks.Count)
        {
            return false;
        }

        _chunk++;
        RecordInMember = 0;
        _memberCrc.Reset();
        _memberBytes = 0;
        try
        {
            _member = _chunks[_chunk].Open();
        }
        catch (InvalidDataException e)
        {
            throw new ImportFormatException($"{Path}:{_chunks[_chunk].FullName}: cannot be read ({e.Message.TrimEnd('.')}).", e);
        }

        return true;
    }

    /// <summary>A member read to its end against its central-directory CRC-32 and size, as <c>unzip -t</c> checks it.</summary>
    private void CheckMember(ZipArchiveEntry entry)
    {
        uint crc = _memberCrc.GetCurrentHashAsUInt32();
        if (_memberBytes != entry.Length)
        {
            throw new ImportFormatException($"{Path}:{entry.FullName}: holds {_memberBytes} bytes, but the zip directory says {entry.Length}; the zip is corrupt.");
        }

        if (crc != entry.Crc32)
        {
            throw new ImportFormatException($"{Path}:{entry.FullName}: fails its CRC-32 check (the zip directory says {entry.Crc32:x8}, the data gives {crc:x8}); the zip is corrupt.");
        }
    }

    private static long? ChunkNumber(string name) =>
        name.StartsWith(ChunkPrefix, StringComparison.Ordinal) && long.TryParse(name.AsSpan(ChunkPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long n)
            ? n
            : null;
}
