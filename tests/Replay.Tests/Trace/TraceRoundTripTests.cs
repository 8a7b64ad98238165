using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>What <see cref="TraceWriter"/> writes, <see cref="TraceReader"/> reads back unchanged.</summary>
public sealed class TraceRoundTripTests : IDisposable
{
    private const ulong Bit63 = 1UL << 63;
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Every op once, with every field set (even those the op ignores), vCPU 3, user, widths 1/2/4, bit 63, insns up to uint32 max.</summary>
    private static EventBatch EveryOp()
    {
        var b = new EventBatch(4);
        foreach (TraceOp op in Enum.GetValues<TraceOp>())
        {
            int k = (int)op;
            b.Add(op, va: Bit63 | (0x1000UL * (ulong)(k + 1)), pa: Bit63 | (0x2000UL + (ulong)k), value: ulong.MaxValue - (ulong)k,
                vcpu: k % 4 == 0 ? 3 : k % 4, user: k % 2 == 0, width: k switch { 4 => 1, 5 => 2, 6 => 4, _ => 8 }, time: 1_000L * k,
                insns: k == 9 ? uint.MaxValue : (uint)k * 1_000_003);
        }

        b.Add(TraceOp.PtWrite, va: 0, pa: 0x3000, value: 0xAB, vcpu: 3, user: true, width: 2, time: 99_000);
        b.Add(TraceOp.PtWrite, va: Bit63, pa: Bit63 | 0x3008, value: Bit63 | 0x67, vcpu: 3, user: true, width: 4, time: 99_001);
        return b;
    }

    [Fact]
    public async Task Every_field_of_every_row_comes_back_unchanged()
    {
        EventBatch written = EveryOp();
        string path = await _files.WriteAsync("every.pq", written, hasTime: true);

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.True(back.HasTime);
        Assert.Equal(written.Count, back.Rows.Count);
        Assert.Equal(12, back.RowCount);
        for (int i = 0; i < written.Count; i++)
        {
            Assert.Equal((written.Op[i], written.Vcpu[i], written.Va[i], written.Pa[i], written.Value[i], written.User[i], written.Width[i], written.Time[i], written.Insns[i]),
                (back.Rows.Op[i], back.Rows.Vcpu[i], back.Rows.Va[i], back.Rows.Pa[i], back.Rows.Value[i], back.Rows.User[i], back.Rows.Width[i], back.Rows.Time[i], back.Rows.Insns[i]));
        }
    }

    [Fact]
    public async Task A_trace_written_without_times_reads_back_without_times()
    {
        string path = await _files.WriteAsync("notime.pq", EveryOp(), hasTime: false);

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.False(back.HasTime);
        Assert.False(back.Rows.HasTime);
    }

    [Fact]
    public async Task The_guest_description_and_markers_come_back_as_written()
    {
        var info = new TraceInfo
        {
            Vcpus = 6, MemoryBytes = 64UL << 30, PagingLevels = 5, Pcid = true, Source = "gen demand seed 7",
            Markers = new Dictionary<ulong, string> { [1] = "boot", [2] = "fork \"and\" exec", [ulong.MaxValue] = "end" },
        };
        string path = await _files.WriteAsync("meta.pq", EveryOp(), info);

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.Equal((6, 64UL << 30, 5, true, "gen demand seed 7"), (back.Info.Vcpus, back.Info.MemoryBytes, back.Info.PagingLevels, back.Info.Pcid, back.Info.Source));
        Assert.Equal(info.Markers.OrderBy(m => m.Key), back.Info.Markers.OrderBy(m => m.Key));
    }

    [Fact]
    public async Task The_metadata_keys_are_stored_as_the_spec_spells_them()
    {
        var info = new TraceInfo { Vcpus = 4, Markers = new Dictionary<ulong, string> { [5] = "steady" } };
        string path = await _files.WriteAsync("keys.pq", EveryOp(), info);

        await using TraceReader reader = await TraceReader.OpenAsync(path);

        Assert.Equal("1", reader.Metadata["replay.trace.version"]);
        Assert.Equal("4", reader.Metadata["replay.guest.vcpus"]);
        Assert.Equal("4294967296", reader.Metadata["replay.guest.memory_bytes"]);
        Assert.Equal("4", reader.Metadata["replay.guest.paging_levels"]);
        Assert.Equal("false", reader.Metadata["replay.guest.pcid"]);
        Assert.Equal("", reader.Metadata["replay.source"]);
        Assert.Equal("{\"5\":\"steady\"}", reader.Metadata["replay.markers"]);
    }

    [Fact]
    public async Task Small_row_groups_come_back_one_batch_each_with_their_first_row()
    {
        var b = new EventBatch(2500);
        for (int i = 0; i < 2500; i++)
        {
            b.Add(TraceOp.Read, va: (ulong)i * 8);
        }

        string path = await _files.WriteAsync("groups.pq", b, rowGroupSize: 1000);

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.Equal(3, back.RowGroupCount);
        Assert.Equal([0L, 1000L, 2000L], back.FirstRows);
        Assert.Equal(Enumerable.Range(0, 2500).Select(i => (ulong)i * 8), back.Rows.Va.Take(2500));
    }

    [Fact]
    public async Task Many_small_writes_fill_row_groups_in_order()
    {
        string path = _files.PathOf("pieces.pq");
        await using (var writer = await TraceWriter.CreateAsync(path, new TraceInfo(), rowGroupSize: 1000))
        {
            var piece = new EventBatch(7);
            for (int start = 0; start < 2500; start += piece.Count)
            {
                piece.Count = 0;
                for (int i = start; i < Math.Min(start + 7, 2500); i++)
                {
                    piece.Add(TraceOp.Fetch, va: (ulong)i);
                }

                await writer.WriteAsync(piece);
            }

            await writer.CompleteAsync();
        }

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.Equal([0L, 1000L, 2000L], back.FirstRows);
        Assert.Equal(Enumerable.Range(0, 2500).Select(i => (ulong)i), back.Rows.Va.Take(2500));
    }

    [Fact]
    public async Task Missing_metadata_takes_the_spec_defaults_and_vcpus_from_the_data()
    {
        string path = await _files.DuckAsync("nometa.pq",
            "SELECT * FROM (VALUES (0::UTINYINT, 5::USMALLINT, 4096::UBIGINT), (1, 2, 8192)) t(op, vcpu, va)");

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.Equal((6, 4UL << 30, 4, false, ""), (back.Info.Vcpus, back.Info.MemoryBytes, back.Info.PagingLevels, back.Info.Pcid, back.Info.Source));
        Assert.Empty(back.Info.Markers);
    }

    [Fact]
    public async Task Without_metadata_or_a_vcpu_column_there_is_one_vcpu()
    {
        string path = await _files.DuckAsync("novcpu.pq", "SELECT 0::UTINYINT AS op, 4096::UBIGINT AS va");

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.Equal(1, back.Info.Vcpus);
    }

    [Fact]
    public async Task Reading_twice_after_rewind_gives_the_same_rows()
    {
        var b = new EventBatch(3000);
        for (int i = 0; i < 3000; i++)
        {
            b.Add((TraceOp)(i % 3), va: (ulong)i * 4096, vcpu: i % 4);
        }

        string path = await _files.WriteAsync("twice.pq", b, rowGroupSize: 1000);
        await using TraceReader reader = await TraceReader.OpenAsync(path);
        var batch = new EventBatch(0);
        Assert.True(await reader.ReadNextAsync(batch));
        Assert.True(await reader.ReadNextAsync(batch));

        reader.Rewind();
        var seen = new List<ulong>();
        while (await reader.ReadNextAsync(batch))
        {
            seen.AddRange(batch.Va.Take(batch.Count));
        }

        Assert.Equal(b.Va.Take(3000), seen);
    }

    [Fact]
    public async Task Alternating_two_batches_gives_the_same_rows_as_reusing_one()
    {
        var b = new EventBatch(5000);
        for (int i = 0; i < 5000; i++)
        {
            b.Add(TraceOp.Write, va: (ulong)i * 64, vcpu: i % 2);
        }

        string path = await _files.WriteAsync("alternate.pq", b, rowGroupSize: 1000);
        await using TraceReader reader = await TraceReader.OpenAsync(path);
        EventBatch cur = new(0), next = new(0);
        var seen = new List<(long, ulong)>();
        while (await reader.ReadNextAsync(cur))
        {
            seen.Add((cur.FirstRow, cur.Va[0]));
            (cur, next) = (next, cur);
        }

        Assert.Equal(Enumerable.Range(0, 5).Select(g => (g * 1000L, (ulong)g * 64_000UL)), seen);
    }
}
