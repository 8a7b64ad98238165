using System.Buffers;
using Replay.Engines.Trace;

namespace Replay.TraceIO;

/// <summary>
/// The per-row rules of SPEC §1 over a decoded row group: every op is known, every field the op needs is
/// present, every ptwrite stores 1, 2, 4 or 8 bytes, and every vCPU is below the trace's vCPU count.
/// Each rule is a vectorized scan for its first offender; the earliest row wins.
/// </summary>
internal static class BatchValidator
{
    private static readonly SearchValues<byte> Widths = SearchValues.Create(1, 2, 4, 8);

    /// <summary>The first bad row in rows [0, n) of <paramref name="b"/>, or null when all are good.</summary>
    public static RowError? Check(EventBatch b, int n, int vcpus, NullMap va = default, NullMap pa = default, NullMap value = default)
    {
        ReadOnlySpan<byte> ops = b.Op.AsSpan(0, n);
        int badOp = ops.IndexOfAnyExceptInRange((byte)0, TraceOps.MaxOp);
        RowError? first = badOp < 0 ? null : new RowError(badOp, TraceColumn.Op, $"unknown op code {ops[badOp]}");
        int limit = badOp < 0 ? n : badOp;

        first = RowError.First(first, CheckVcpus(b.Vcpu.AsSpan(0, limit), vcpus));
        first = RowError.First(first, CheckWidths(ops[..limit], b.Width.AsSpan(0, limit)));
        if (va.Any || pa.Any || value.Any)
        {
            first = RowError.First(first, CheckNeeds(ops[..limit], va, pa, value));
        }

        return first;
    }

    private static RowError? CheckVcpus(ReadOnlySpan<ushort> vcpu, int vcpus)
    {
        if (vcpus > ushort.MaxValue)
        {
            return null;
        }

        int bad = vcpu.IndexOfAnyInRange((ushort)vcpus, ushort.MaxValue);
        return bad < 0 ? null : new RowError(bad, TraceColumn.Vcpu, $"vCPU {vcpu[bad]}, but the trace has {vcpus} vCPUs");
    }

    private static RowError? CheckWidths(ReadOnlySpan<byte> ops, ReadOnlySpan<byte> width)
    {
        // Widths only matter on ptwrites; look row by row only from the first unusual width on.
        int from = width.IndexOfAnyExcept(Widths);
        for (int i = Math.Max(from, 0); from >= 0 && i < ops.Length; i++)
        {
            if (ops[i] == (byte)TraceOp.PtWrite && !Widths.Contains(width[i]))
            {
                return new RowError(i, TraceColumn.Width, $"width {width[i]}, but a ptwrite stores 1, 2, 4 or 8 bytes");
            }
        }

        return null;
    }

    private static RowError? CheckNeeds(ReadOnlySpan<byte> ops, NullMap va, NullMap pa, NullMap value)
    {
        for (int i = 0; i < ops.Length; i++)
        {
            byte op = ops[i];
            TraceColumn? missing =
                TraceOps.NeedsVa(op) && va.IsNull(i) ? TraceColumn.Va
                : TraceOps.NeedsPa(op) && pa.IsNull(i) ? TraceColumn.Pa
                : TraceOps.NeedsValue(op) && value.IsNull(i) ? TraceColumn.Value
                : null;
            if (missing is { } column)
            {
                bool absent = (column == TraceColumn.Va ? va : column == TraceColumn.Pa ? pa : value).Missing;
                string what = absent ? "no such column" : "null";
                return new RowError(i, column, $"{what}, but op '{TraceOps.Names[op]}' needs it");
            }
        }

        return null;
    }
}
