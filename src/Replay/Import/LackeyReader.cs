using System.Text;

namespace Replay.Import;

/// <summary>
/// Streams the records of a valgrind lackey (<c>--trace-mem=yes</c>) or CS:APP cache-lab trace: lines
/// <c>I  ADDR,SIZE</c>, <c> L ADDR,SIZE</c>, <c> S ADDR,SIZE</c>, <c> M ADDR,SIZE</c> (hex address without
/// <c>0x</c>, decimal size), any number of leading spaces. Blank lines and valgrind's <c>==pid==</c> and
/// <c>--pid--</c> lines are skipped. Gzip input (magic bytes 1F 8B) is decompressed on the fly and checked against its trailer (<see cref="GzipCheckedStream"/>). Bytes are
/// parsed in place from one reused buffer: no allocation per line, memory bounded by the buffer whatever the
/// file size. Any other line is an <see cref="ImportFormatException"/> naming the file and 1-based line, or,
/// with <c>skipBad</c>, counted in <see cref="BadLines"/> and skipped.
/// </summary>
public sealed class LackeyReader : IDisposable
{
    /// <summary>The longest line accepted; a longer one is malformed.</summary>
    public const int MaxLineBytes = 1 << 12;

    private const int BufferBytes = 1 << 18;
    private const string Expected = "expected 'I', 'L', 'S' or 'M', spaces, a hex address, ',' and a decimal size";

    /// <summary>Parse's answer for a line that holds no record and is not wrong (a distinct instance, compared by reference).</summary>
    private static readonly string Skip = new('-', 1);

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _buffer = new byte[BufferBytes];
    private int _pos;
    private int _end;
    private bool _eof;
    private bool _discardToNewline;

    /// <summary>Reads lackey records from <paramref name="stream"/>; a seekable gzip stream is detected by its magic bytes.</summary>
    public LackeyReader(Stream stream, string name, bool skipBad = false, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _leaveOpen = leaveOpen;
        _stream = IsGzip(stream) ? new GzipCheckedStream(stream, name, leaveOpen) : stream;
        Name = name;
        SkipBad = skipBad;
    }

    /// <summary>The file name used in error messages.</summary>
    public string Name { get; }

    /// <summary>Count and skip malformed lines instead of throwing.</summary>
    public bool SkipBad { get; }

    /// <summary>1-based number of the line last read (the line of the record just returned).</summary>
    public long Line { get; private set; }

    /// <summary>Malformed lines skipped (only with <see cref="SkipBad"/>).</summary>
    public long BadLines { get; private set; }

    /// <summary>Opens <paramref name="path"/>, plain or gzip.</summary>
    public static LackeyReader Open(string path, bool skipBad = false) => Open(path, skipBad, null);

    /// <summary>Opens <paramref name="path"/>, its bytes read counted by <paramref name="progress"/>.</summary>
    internal static LackeyReader Open(string path, bool skipBad, ImportProgress? progress)
    {
        Stream file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return new(progress?.Counting(file) ?? file, path, skipBad);
    }

    /// <summary>The next record, or false at the end of the input.</summary>
    public bool TryRead(out AccessRecord record)
    {
        while (NextLine(out ReadOnlySpan<byte> line, out bool tooLong))
        {
            Line++;
            record = default;
            string? problem = tooLong ? $"line longer than {MaxLineBytes} bytes" : Parse(line, out record);
            if (problem is null)
            {
                return true;
            }

            if (ReferenceEquals(problem, Skip))
            {
                continue;
            }

            if (!SkipBad)
            {
                throw new ImportFormatException($"{Name}:{Line}: {problem}: \"{Excerpt(line)}\".");
            }

            BadLines++;
        }

        record = default;
        return false;
    }

    public void Dispose()
    {
        if (!_leaveOpen || _stream is GzipCheckedStream)
        {
            _stream.Dispose();
        }
    }

    /// <summary>Parses one line (no newline); null when it holds a record, <see cref="Skip"/> for lines to ignore, else what is wrong.</summary>
    private static string? Parse(ReadOnlySpan<byte> line, out AccessRecord record)
    {
        record = default;
        int n = line.Length;
        while (n > 0 && line[n - 1] is (byte)' ' or (byte)'\t' or (byte)'\r')
        {
            n--;
        }

        int i = 0;
        while (i < n && line[i] is (byte)' ' or (byte)'\t')
        {
            i++;
        }

        if (i == n)
        {
            return Skip;
        }

        if (i == 0 && n >= 3 && ((line[0] == '=' && line[1] == '=') || (line[0] == '-' && line[1] == '-' && IsDigit(line[2]))))
        {
            return Skip; // ==pid== banners and summaries, --pid-- messages
        }

        RecordKind kind;
        switch (line[i])
        {
            case (byte)'I': kind = RecordKind.Fetch; break;
            case (byte)'L': kind = RecordKind.Load; break;
            case (byte)'S': kind = RecordKind.Store; break;
            case (byte)'M': kind = RecordKind.Modify; break;
            default: return Expected;
        }

        i++;
        if (i == n || line[i] != ' ')
        {
            return Expected;
        }

        while (i < n && line[i] == ' ')
        {
            i++;
        }

        ulong address = 0;
        int digits = 0;
        for (; i < n && line[i] != ','; i++, digits++)
        {
            int h = HexValue(line[i]);
            if (h < 0)
            {
                return "the address is not hexadecimal";
            }

            address = (address << 4) | (uint)h;
        }

        if (digits == 0 || i == n)
        {
            return Expected;
        }

        if (digits > 16)
        {
            return "the address has more than 64 bits";
        }

        i++; // ','
        int size = 0;
        int sizeStart = i;
        for (; i < n; i++)
        {
            if (!IsDigit(line[i]) || i - sizeStart >= 9)
            {
                return "the size is not a decimal number";
            }

            size = (size * 10) + (line[i] - '0');
        }

        if (i == sizeStart || size == 0)
        {
            return i == sizeStart ? Expected : "the size is 0";
        }

        record = new AccessRecord(kind, address, size);
        return null;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>The next line without its newline; a line that does not fit <see cref="MaxLineBytes"/> comes back truncated with <paramref name="tooLong"/>.</summary>
    private bool NextLine(out ReadOnlySpan<byte> line, out bool tooLong)
    {
        tooLong = false;
        while (true)
        {
            var pending = _buffer.AsSpan(_pos, _end - _pos);
            int nl = pending.IndexOf((byte)'\n');
            if (_discardToNewline)
            {
                if (nl >= 0)
                {
                    _pos += nl + 1;
                    _discardToNewline = false;
                    continue;
                }

                _pos = _end;
                if (_eof)
                {
                    line = default;
                    return false;
                }
            }
            else if (nl >= 0 || pending.Length > MaxLineBytes)
            {
                if (nl < 0 || nl > MaxLineBytes)
                {
                    return LongLine(out line, out tooLong);
                }

                line = pending[..nl];
                _pos += nl + 1;
                return true;
            }
            else if (_eof)
            {
                line = pending;
                _pos = _end;
                return line.Length > 0;
            }

            Fill();
        }
    }

    private bool LongLine(out ReadOnlySpan<byte> line, out bool tooLong)
    {
        line = _buffer.AsSpan(_pos, 80);
        tooLong = true;
        _discardToNewline = true;
        return true;
    }

    private void Fill()
    {
        if (_eof)
        {
            return;
        }

        int kept = _end - _pos;
        Buffer.BlockCopy(_buffer, _pos, _buffer, 0, kept);
        _pos = 0;
        _end = kept;
        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }

    private static bool IsGzip(Stream s)
    {
        if (!s.CanSeek)
        {
            return false;
        }

        long at = s.Position;
        int b0 = s.ReadByte();
        int b1 = s.ReadByte();
        s.Position = at;
        return b0 == 0x1F && b1 == 0x8B;
    }

    private static string Excerpt(ReadOnlySpan<byte> line)
    {
        var sb = new StringBuilder();
        foreach (byte b in line[..Math.Min(line.Length, 60)])
        {
            sb.Append(b is >= 0x20 and < 0x7F && b != '"' ? (char)b : '?');
        }

        return line.Length > 60 ? sb.Append("...").ToString() : sb.ToString();
    }
}
