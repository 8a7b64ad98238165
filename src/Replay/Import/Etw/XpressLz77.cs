using System.Buffers.Binary;

namespace Replay.Import.Etw;

/// <summary>
/// The Plain LZ77 ("Xpress", COMPRESSION_FORMAT_XPRESS = 3) decompressor of [MS-XCA] §2.4, which Windows 8 and later use
/// for the buffers of an ETL file logged with EVENT_TRACE_COMPRESSED_MODE (the format is the low 16 bits of the first
/// buffer's State). Written from the specification: 32-bit flag words, one bit per literal byte or match; a match is a
/// 16-bit (offset − 1) &lt;&lt; 3 | length, lengths of 7 and more continued in shared nibbles, bytes, then 16/32-bit words.
/// </summary>
public static class XpressLz77
{
    /// <summary>COMPRESSION_FORMAT_XPRESS, the format value this class decodes.</summary>
    public const int Format = 3;

    /// <summary>
    /// Decompresses <paramref name="input"/> into <paramref name="output"/>; returns the bytes written. Throws
    /// <see cref="InvalidDataException"/> (with the input offset) on a match that reaches before the output or past its end.
    /// </summary>
    public static int Decompress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int inPos = 0, outPos = 0, flagCount = 0, halfByte = -1;
        uint flags = 0;
        while (outPos < output.Length)
        {
            if (flagCount == 0)
            {
                if (inPos + 4 > input.Length)
                {
                    break;
                }

                flags = BinaryPrimitives.ReadUInt32LittleEndian(input[inPos..]);
                inPos += 4;
                flagCount = 32;
            }

            flagCount--;
            if ((flags & (1u << flagCount)) == 0)
            {
                if (inPos >= input.Length)
                {
                    break;
                }

                output[outPos++] = input[inPos++];
                continue;
            }

            if (inPos + 2 > input.Length)
            {
                break;
            }

            int matchAt = inPos;
            int word = BinaryPrimitives.ReadUInt16LittleEndian(input[inPos..]);
            inPos += 2;
            int offset = (word >> 3) + 1;
            long length = word & 7;
            if (length == 7)
            {
                if (halfByte < 0)
                {
                    length = Byte(input, ref inPos, matchAt) & 15;
                    halfByte = inPos - 1;
                }
                else
                {
                    length = input[halfByte] >> 4;
                    halfByte = -1;
                }

                if (length == 15)
                {
                    length = Byte(input, ref inPos, matchAt);
                    if (length == 255)
                    {
                        length = Word(input, ref inPos, matchAt);
                        if (length == 0)
                        {
                            length = inPos + 4 <= input.Length ? BinaryPrimitives.ReadUInt32LittleEndian(input[inPos..]) : throw Bad(matchAt);
                            inPos += 4;
                        }

                        length = length >= 15 + 7 ? length - (15 + 7) : throw Bad(matchAt);
                    }

                    length += 15;
                }

                length += 7;
            }

            length += 3;
            if (offset > outPos || length > output.Length - outPos)
            {
                throw Bad(matchAt);
            }

            for (int i = 0; i < length; i++, outPos++)
            {
                output[outPos] = output[outPos - offset]; // byte by byte: a match may overlap its own output
            }
        }

        return outPos;
    }

    private static int Byte(ReadOnlySpan<byte> input, ref int pos, int matchAt) =>
        pos < input.Length ? input[pos++] : throw Bad(matchAt);

    private static int Word(ReadOnlySpan<byte> input, ref int pos, int matchAt)
    {
        int v = pos + 2 <= input.Length ? BinaryPrimitives.ReadUInt16LittleEndian(input[pos..]) : throw Bad(matchAt);
        pos += 2;
        return v;
    }

    private static InvalidDataException Bad(int at) => new($"compressed data is corrupt at byte {at} of the buffer's payload");
}
