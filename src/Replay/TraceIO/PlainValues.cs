using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Replay.TraceIO;

/// <summary>
/// Decoders for PLAIN-encoded Parquet values into batch arrays: INT32 narrowed to uint8/uint16 (after a
/// vectorized range check) and bit-packed BOOLEAN expanded to bools.
/// </summary>
internal static class PlainValues
{
    // Expands one byte of packed booleans (LSB first) into eight bool bytes.
    private static readonly ulong[] BitsToBools = BuildBitTable();

    /// <summary>Index of the first value above <paramref name="max"/>, or -1.</summary>
    public static int FirstAbove(ReadOnlySpan<int> values, uint max) =>
        MemoryMarshal.Cast<int, uint>(values).IndexOfAnyExceptInRange(0u, max);

    public static void NarrowToBytes(ReadOnlySpan<int> src, Span<byte> dst)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ReadOnlySpan<uint> s = MemoryMarshal.Cast<int, uint>(src);
            for (; i <= s.Length - 32; i += 32)
            {
                Vector256<ushort> lo = Vector256.Narrow(Vector256.Create(s.Slice(i, 8)), Vector256.Create(s.Slice(i + 8, 8)));
                Vector256<ushort> hi = Vector256.Narrow(Vector256.Create(s.Slice(i + 16, 8)), Vector256.Create(s.Slice(i + 24, 8)));
                Vector256.Narrow(lo, hi).CopyTo(dst.Slice(i, 32));
            }
        }

        for (; i < src.Length; i++)
        {
            dst[i] = (byte)src[i];
        }
    }

    public static void NarrowToUInt16(ReadOnlySpan<int> src, Span<ushort> dst)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ReadOnlySpan<uint> s = MemoryMarshal.Cast<int, uint>(src);
            for (; i <= s.Length - 16; i += 16)
            {
                Vector256.Narrow(Vector256.Create(s.Slice(i, 8)), Vector256.Create(s.Slice(i + 8, 8))).CopyTo(dst.Slice(i, 16));
            }
        }

        for (; i < src.Length; i++)
        {
            dst[i] = (ushort)src[i];
        }
    }

    /// <summary>Unpacks <paramref name="dst"/>.Length booleans, 8 per byte, least significant bit first.</summary>
    public static void UnpackBools(ReadOnlySpan<byte> packed, Span<bool> dst)
    {
        int whole = dst.Length / 8;
        Span<ulong> eights = MemoryMarshal.Cast<bool, ulong>(dst[..(whole * 8)]);
        for (int i = 0; i < whole; i++)
        {
            eights[i] = BitsToBools[packed[i]];
        }

        for (int i = whole * 8; i < dst.Length; i++)
        {
            dst[i] = (packed[i >> 3] & (1 << (i & 7))) != 0;
        }
    }

    private static ulong[] BuildBitTable()
    {
        var table = new ulong[256];
        for (int b = 0; b < 256; b++)
        {
            for (int k = 0; k < 8; k++)
            {
                table[b] |= (ulong)((b >> k) & 1) << (8 * k);
            }
        }

        return table;
    }
}
