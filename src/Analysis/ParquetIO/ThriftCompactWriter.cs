using System.Buffers;

namespace Replay.Analysis.ParquetIO;

/// <summary>
/// The writing half of <see cref="ThriftCompactReader"/>: Thrift's compact protocol into a growing buffer. Field headers
/// carry the id as a delta from the previous field of the same struct when it is 1 to 15, else as a zigzag i16 after
/// the type byte; integers are zigzag varints; booleans as fields live in the header's type nibble.
/// </summary>
internal sealed class ThriftCompactWriter
{
    private readonly ArrayBufferWriter<byte> _out = new(256);
    private readonly Stack<short> _outer = new();
    private short _last;

    /// <summary>The bytes written since the last <see cref="Clear"/>.</summary>
    public ReadOnlySpan<byte> Written => _out.WrittenSpan;

    public void Clear()
    {
        _out.ResetWrittenCount();
        _outer.Clear();
        _last = 0;
    }

    /// <summary>Starts a struct's fields (the compact protocol writes nothing for it); field ids count from 0 again.</summary>
    public void BeginStruct()
    {
        _outer.Push(_last);
        _last = 0;
    }

    /// <summary>Ends the struct begun last with its STOP byte.</summary>
    public void EndStruct()
    {
        Byte(0);
        _last = _outer.Pop();
    }

    public void Field(short id, int type)
    {
        int delta = id - _last;
        if (delta is > 0 and <= 15)
        {
            Byte((byte)((delta << 4) | type));
        }
        else
        {
            Byte((byte)type);
            Varint(Zigzag(id));
        }

        _last = id;
    }

    public void BoolField(short id, bool value) => Field(id, value ? ThriftCompactReader.True : ThriftCompactReader.False);

    /// <summary>An i16, i32 or i64 value.</summary>
    public void Integer(long value) => Varint(Zigzag(value));

    public void Binary(ReadOnlySpan<byte> value)
    {
        Varint((ulong)value.Length);
        Raw(value);
    }

    public void ListHeader(long size, int elementType)
    {
        if (size < 15)
        {
            Byte((byte)((size << 4) | (uint)elementType));
        }
        else
        {
            Byte((byte)(0xF0 | elementType));
            Varint((ulong)size);
        }
    }

    public void MapHeader(ulong size, int keyType, int valueType)
    {
        Varint(size);
        if (size > 0)
        {
            Byte((byte)((keyType << 4) | valueType));
        }
    }

    public void Byte(byte value)
    {
        _out.GetSpan(1)[0] = value;
        _out.Advance(1);
    }

    public void Raw(ReadOnlySpan<byte> bytes) => _out.Write(bytes);

    private void Varint(ulong value)
    {
        Span<byte> span = _out.GetSpan(10);
        int n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        _out.Advance(n);
    }

    private static ulong Zigzag(long n) => (ulong)((n << 1) ^ (n >> 63));
}
