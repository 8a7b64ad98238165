using System.Numerics;
using System.Runtime.CompilerServices;
using Replay.Engines.Trace;

namespace Replay.TraceIO;

/// <summary>
/// Converts a column stored with another integer type than the batch array (or as OPTIONAL) into it,
/// per SPEC §1: unsigned fields stored as signed are bit-reinterpreted at their stored width (an int64
/// va of -1 is 0xFFFF_FFFF_FFFF_FFFF); op, vcpu, width, insns and user must fit or the row is an error;
/// nulls take the column default (vcpu 0, user false, width 8, insns 0, va/pa/value 0 flagged as null).
/// </summary>
internal static class ColumnConverter
{
    public static RowError? Convert<T>(ColumnDecoder decoder, ReadOnlySpan<T?> src, EventBatch dst)
        where T : struct, IBinaryInteger<T>
    {
        TraceColumn column = decoder.Column;
        return column switch
        {
            TraceColumn.Op => Narrow(decoder, src, dst.Op, 0, byte.MaxValue),
            TraceColumn.Vcpu => Narrow(decoder, src, dst.Vcpu, 0, ushort.MaxValue),
            TraceColumn.Width => Narrow(decoder, src, dst.Width, 8, byte.MaxValue),
            TraceColumn.Insns => Narrow(decoder, src, dst.Insns, 0, uint.MaxValue),
            TraceColumn.User => ToBool(column, src, dst.User),
            TraceColumn.Time => ToTime(decoder, src, dst.Time),
            TraceColumn.Va => ToBits(decoder, src, dst.Va),
            TraceColumn.Pa => ToBits(decoder, src, dst.Pa),
            _ => ToBits(decoder, src, dst.Value),
        };
    }

    /// <summary>The error for a stored op, vcpu, width or insns that does not fit its column's type.</summary>
    public static RowError OutOfRange<T>(TraceColumn column, int index, T value) => new(index, column, column switch
    {
        TraceColumn.Op => $"unknown op code {value}",
        TraceColumn.Width => $"width {value} is not 1, 2, 4 or 8",
        TraceColumn.Insns => $"{value} does not fit in uint32 (an instruction count, 0 to {uint.MaxValue})",
        _ => $"{value} does not fit in uint16",
    });

    private static RowError? Narrow<T, TDst>(ColumnDecoder decoder, ReadOnlySpan<T?> src, TDst[] dst, byte fill, ulong max)
        where T : struct, IBinaryInteger<T>
        where TDst : struct, IBinaryInteger<TDst>
    {
        for (int i = 0; i < src.Length; i++)
        {
            if (src[i] is not T v)
            {
                if (decoder.Column == TraceColumn.Op)
                {
                    return decoder.NullError(i);
                }

                dst[i] = TDst.CreateTruncating(fill);
            }
            else if (T.IsNegative(v) || ulong.CreateTruncating(v) > max)
            {
                return OutOfRange(decoder.Column, i, v);
            }
            else
            {
                dst[i] = TDst.CreateTruncating(v);
            }
        }

        return null;
    }

    private static RowError? ToBool<T>(TraceColumn column, ReadOnlySpan<T?> src, bool[] dst)
        where T : struct, IBinaryInteger<T>
    {
        for (int i = 0; i < src.Length; i++)
        {
            T v = src[i] ?? T.Zero;
            if (v != T.Zero && v != T.One)
            {
                return new RowError(i, column, $"{v} is not a boolean (0 or 1)");
            }

            dst[i] = v == T.One;
        }

        return null;
    }

    private static RowError? ToTime<T>(ColumnDecoder decoder, ReadOnlySpan<T?> src, long[] dst)
        where T : struct, IBinaryInteger<T>
    {
        for (int i = 0; i < src.Length; i++)
        {
            if (src[i] is not T v)
            {
                return decoder.NullError(i);
            }

            dst[i] = long.CreateTruncating(v);
        }

        return null;
    }

    private static RowError? ToBits<T>(ColumnDecoder decoder, ReadOnlySpan<T?> src, ulong[] dst)
        where T : struct, IBinaryInteger<T>
    {
        // Zero-extend from the stored width, so a uint32 written as int32 keeps its value.
        ulong mask = Unsafe.SizeOf<T>() >= 8 ? ulong.MaxValue : (1UL << (Unsafe.SizeOf<T>() * 8)) - 1;
        Span<bool> nulls = HasNull(src) ? decoder.MarkNulls(src.Length) : default;
        for (int i = 0; i < src.Length; i++)
        {
            T? v = src[i];
            dst[i] = v.HasValue ? ulong.CreateTruncating(v.GetValueOrDefault()) & mask : 0;
            if (!nulls.IsEmpty)
            {
                nulls[i] = !v.HasValue;
            }
        }

        return null;
    }

    private static bool HasNull<T>(ReadOnlySpan<T?> src)
        where T : struct
    {
        foreach (T? v in src)
        {
            if (!v.HasValue)
            {
                return true;
            }
        }

        return false;
    }
}
