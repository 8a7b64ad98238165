using Replay.Engines.Trace;

namespace Replay.Engines.Tests.Trace;

/// <summary>The batch's own arithmetic: Σ insns over a row range, vectorised, without 32-bit overflow.</summary>
public sealed class EventBatchTests
{
    [Fact]
    public void SumInsns_adds_exactly_the_rows_of_the_range()
    {
        // insns[i] = i for 1000 rows: rows [100, 200) sum to 100·100 + 4950 = 14,950; all rows to 999·1000/2 = 499,500;
        // 7 rows (below one vector) [3, 10) to 3 + … + 9 = 42.
        var b = new EventBatch(0);
        for (int i = 0; i < 1000; i++)
        {
            b.Add(TraceOp.Read, insns: (uint)i);
        }

        Assert.Equal(14_950, b.SumInsns(100, 200));
        Assert.Equal(499_500, b.SumInsns(0, 1000));
        Assert.Equal(42, b.SumInsns(3, 10));
        Assert.Equal(0, b.SumInsns(5, 5));
    }

    [Fact]
    public void SumInsns_of_many_uint32_max_rows_does_not_wrap()
    {
        // 67 rows of 4,294,967,295 (8 vectors of 8 lanes and 3 left over): 67 × 4,294,967,295 = 287,762,808,765.
        var b = new EventBatch(0);
        for (int i = 0; i < 67; i++)
        {
            b.Add(TraceOp.Fetch, insns: uint.MaxValue);
        }

        Assert.Equal(287_762_808_765L, b.SumInsns(0, 67));
    }

    [Fact]
    public void Growing_the_batch_keeps_insns()
    {
        var b = new EventBatch(1);
        b.Add(TraceOp.Read, insns: 11);
        b.Add(TraceOp.Read, insns: 22);
        b.Add(TraceOp.Read, insns: 33);

        Assert.Equal([11u, 22u, 33u], b.Insns.Take(3));
    }
}
