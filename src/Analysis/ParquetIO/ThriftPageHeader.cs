namespace Replay.Analysis.ParquetIO;

/// <summary>
/// The few fields of a Parquet page header the page checks (<see cref="PageCrcs.Check"/>) and the trace reader's direct column reader need, parsed from Thrift's compact
/// protocol (parquet-format <c>PageHeader</c>, <c>DataPageHeader</c>, <c>DataPageHeaderV2</c>). Every other
/// field is skipped. Parquet.Net keeps its Thrift reader internal, hence this small one.
/// </summary>
public struct ThriftPageHeader
{
    public const int DataPage = 0;
    public const int DictionaryPage = 2;
    public const int DataPageV2 = 3;

    public int Type;
    public int UncompressedSize;
    public int CompressedSize;
    public int NumValues;
    public int Encoding;
    public int LevelsByteLength;
    public bool IsCompressed;

    /// <summary>parquet-format <c>PageHeader.crc</c>: the CRC-32 of the page body after the header, when the writer stored one.</summary>
    public uint? Crc;

    /// <summary>Parses a header at the start of <paramref name="src"/>; returns its length in bytes.</summary>
    public static int Parse(ReadOnlySpan<byte> src, out ThriftPageHeader header)
    {
        var r = new ThriftCompactReader(src);
        header = new ThriftPageHeader { Type = -1, IsCompressed = true };
        short id = 0;
        while (r.NextField(ref id, out int type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompactReader.I32: header.Type = r.ReadInt(); break;
                case 2 when type == ThriftCompactReader.I32: header.UncompressedSize = r.ReadInt(); break;
                case 3 when type == ThriftCompactReader.I32: header.CompressedSize = r.ReadInt(); break;
                case 4 when type == ThriftCompactReader.I32: header.Crc = unchecked((uint)r.ReadInt()); break;
                case 5 when type == ThriftCompactReader.Struct: ParseDataPage(ref r, ref header, v2: false); break;
                case 8 when type == ThriftCompactReader.Struct: ParseDataPage(ref r, ref header, v2: true); break;
                default: r.Skip(type); break;
            }
        }

        return r.Position;
    }

    /// <summary>
    /// A <c>DataPageHeader</c> or, when <paramref name="v2"/>, a <c>DataPageHeaderV2</c>: <c>num_values</c> is field 1 of
    /// both; the encoding is field 2 of v1 and 4 of v2; only v2 stores its level bytes (5, 6) and <c>is_compressed</c> (7).
    /// </summary>
    private static void ParseDataPage(ref ThriftCompactReader r, ref ThriftPageHeader header, bool v2)
    {
        short id = 0;
        while (r.NextField(ref id, out int type))
        {
            switch (id)
            {
                case 1 when type == ThriftCompactReader.I32: header.NumValues = r.ReadInt(); break;
                case 2 when !v2 && type == ThriftCompactReader.I32:
                case 4 when v2 && type == ThriftCompactReader.I32:
                    header.Encoding = r.ReadInt();
                    break;
                case 5 or 6 when v2 && type == ThriftCompactReader.I32: header.LevelsByteLength += r.ReadInt(); break;
                case 7 when v2 && type is ThriftCompactReader.True or ThriftCompactReader.False: header.IsCompressed = type == ThriftCompactReader.True; break;
                default: r.Skip(type); break;
            }
        }
    }
}
