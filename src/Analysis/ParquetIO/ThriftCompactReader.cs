namespace Replay.Analysis.ParquetIO;

/// <summary>
/// A forward-only reader of Thrift's compact protocol over a byte span: field headers, zigzag varints,
/// and skipping of any field. Malformed input throws <see cref="InvalidDataException"/>.
/// </summary>
internal ref struct ThriftCompactReader
{
    public const int True = 1;
    public const int False = 2;
    public const int Byte = 3;
    public const int I16 = 4;
    public const int I32 = 5;
    public const int I64 = 6;
    public const int Double = 7;
    public const int Binary = 8;
    public const int List = 9;
    public const int Set = 10;
    public const int Map = 11;
    public const int Struct = 12;

    private readonly ReadOnlySpan<byte> _src;
    private int _depth;

    public ThriftCompactReader(ReadOnlySpan<byte> src) => _src = src;

    public int Position { get; private set; }

    /// <summary>Reads the next field header of the current struct; false at its end (STOP).</summary>
    public bool NextField(ref short id, out int type)
    {
        byte b = ReadByte();
        type = b & 0x0F;
        if (type == 0)
        {
            return false;
        }

        int delta = b >> 4;
        id = delta != 0 ? (short)(id + delta) : (short)Zigzag(ReadVarint());
        return true;
    }

    public int ReadInt() => (int)Zigzag(ReadVarint());

    /// <summary>An i16, i32 or i64 value (all three are zigzag varints).</summary>
    public long ReadLong() => Zigzag(ReadVarint());

    /// <summary>A binary or string value: its bytes, within the source span.</summary>
    public ReadOnlySpan<byte> ReadBinary()
    {
        int length = checked((int)ReadVarint());
        int at = Position;
        Advance(length);
        return _src.Slice(at, length);
    }

    /// <summary>The next <paramref name="count"/> bytes as they stand (a double's 8 bytes).</summary>
    public ReadOnlySpan<byte> ReadRaw(int count)
    {
        int at = Position;
        Advance(count);
        return _src.Slice(at, count);
    }

    /// <summary>A list or set header: its size and element type.</summary>
    public long ReadListHeader(out int elementType)
    {
        byte b = ReadByte();
        elementType = b & 0x0F;
        return b >> 4 == 15 ? (long)ReadVarint() : b >> 4;
    }

    /// <summary>A map header: its size, and the key and value types (both 0 for an empty map).</summary>
    public ulong ReadMapHeader(out int keyType, out int valueType)
    {
        ulong size = ReadVarint();
        byte types = size > 0 ? ReadByte() : (byte)0;
        (keyType, valueType) = (types >> 4, types & 0x0F);
        return size;
    }

    public void Skip(int type)
    {
        switch (type)
        {
            case True or False: break;
            case Byte: ReadByte(); break;
            case I16 or I32 or I64: ReadVarint(); break;
            case Double: Advance(8); break;
            case Binary: Advance(checked((int)ReadVarint())); break;
            case List or Set: SkipList(); break;
            case Map: SkipMap(); break;
            case Struct: SkipStruct(); break;
            default: throw new InvalidDataException($"Unknown Thrift compact type {type}.");
        }
    }

    private void SkipStruct()
    {
        Enter();
        short id = 0;
        while (NextField(ref id, out int type))
        {
            Skip(type);
        }

        _depth--;
    }

    private void SkipList()
    {
        Enter();
        byte b = ReadByte();
        long size = b >> 4 == 15 ? (long)ReadVarint() : b >> 4;
        int element = b & 0x0F;
        for (long i = 0; i < size; i++)
        {
            SkipElement(element);
        }

        _depth--;
    }

    private void SkipMap()
    {
        Enter();
        ulong size = ReadVarint();
        if (size > 0)
        {
            byte types = ReadByte();
            for (ulong i = 0; i < size; i++)
            {
                SkipElement(types >> 4);
                SkipElement(types & 0x0F);
            }
        }

        _depth--;
    }

    /// <summary>Inside lists, sets and maps a boolean takes a byte of its own.</summary>
    private void SkipElement(int type)
    {
        if (type is True or False)
        {
            ReadByte();
        }
        else
        {
            Skip(type);
        }
    }

    private void Enter()
    {
        if (++_depth > 64)
        {
            throw new InvalidDataException("Thrift structure nested too deeply.");
        }
    }

    private ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new InvalidDataException("Thrift varint too long.");
    }

    private static long Zigzag(ulong n) => (long)(n >> 1) ^ -(long)(n & 1);

    public byte ReadByte()
    {
        if (Position >= _src.Length)
        {
            throw new InvalidDataException("Thrift data ends early.");
        }

        return _src[Position++];
    }

    private void Advance(int count)
    {
        if (count < 0 || count > _src.Length - Position)
        {
            throw new InvalidDataException("Thrift data ends early.");
        }

        Position += count;
    }
}
