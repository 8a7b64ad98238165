using Replay.Engines.Trace;

namespace Replay.TraceIO;

/// <summary>Copies rows between <see cref="EventBatch"/>es column by column (bulk copies, no per-row work).</summary>
internal static class BatchCopy
{
    public static void Copy(EventBatch src, int srcIndex, EventBatch dst, int dstIndex, int count, bool time)
    {
        Array.Copy(src.Op, srcIndex, dst.Op, dstIndex, count);
        Array.Copy(src.Vcpu, srcIndex, dst.Vcpu, dstIndex, count);
        Array.Copy(src.Va, srcIndex, dst.Va, dstIndex, count);
        Array.Copy(src.Pa, srcIndex, dst.Pa, dstIndex, count);
        Array.Copy(src.Value, srcIndex, dst.Value, dstIndex, count);
        Array.Copy(src.User, srcIndex, dst.User, dstIndex, count);
        Array.Copy(src.Width, srcIndex, dst.Width, dstIndex, count);
        Array.Copy(src.Insns, srcIndex, dst.Insns, dstIndex, count);
        if (time)
        {
            Array.Copy(src.Time, srcIndex, dst.Time, dstIndex, count);
        }
    }

    /// <summary>Makes <paramref name="dst"/> a copy of the whole of <paramref name="src"/>: rows, first row and time flag.</summary>
    public static void CopyAll(EventBatch src, EventBatch dst)
    {
        dst.EnsureCapacity(src.Count);
        Copy(src, 0, dst, 0, src.Count, src.HasTime);
        dst.Count = src.Count;
        dst.FirstRow = src.FirstRow;
        dst.HasTime = src.HasTime;
    }
}
