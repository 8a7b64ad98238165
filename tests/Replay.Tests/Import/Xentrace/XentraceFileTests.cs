using Replay.Import;
using Replay.Import.Xentrace;
using Replay.Tests.Cli;

namespace Replay.Tests.Import.Xentrace;

/// <summary>The xentrace file layout: per-CPU blocks, records merged by TSC, and bad input.</summary>
public sealed class XentraceFileTests : IDisposable
{
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    private List<XenRecord> Read(XenTraceBuilder b, bool skipBad = false) => Read(b.Bytes(), skipBad, out _);

    private List<XenRecord> Read(byte[] bytes, bool skipBad, out long bad)
    {
        string path = _d.File("t.bin");
        File.WriteAllBytes(path, bytes);
        using var f = XentraceFile.Open(path, skipBad);
        var records = f.Records().ToList();
        bad = f.BadRecords;
        return records;
    }

    [Fact]
    public void Cpus_are_merged_by_tsc_and_a_record_without_a_tsc_takes_its_cpus_previous_one()
    {
        // CPU 0: A@10, B (no TSC, so 10), C@30; CPU 1: D@20, E@25. Smallest TSC first: A, B (both 10, file order
        // within a CPU), D, E, C. A is the first record after the 12-byte CPU_CHANGE header: byte 12.
        var b = new XenTraceBuilder()
            .Cpu(0).At(10, 0xA, 1).NoTsc(0xB).At(30, 0xC)
            .Cpu(1).At(20, 0xD).At(25, 0xE);
        var r = Read(b);
        Assert.Equal([0xAu, 0xB, 0xD, 0xE, 0xC], r.Select(x => x.Event));
        Assert.Equal([10UL, 10, 20, 25, 30], r.Select(x => x.Tsc));
        Assert.Equal([0, 0, 1, 1, 0], r.Select(x => x.Cpu));
        Assert.Equal((12L, 1, 1u), (r[0].Offset, r[0].Extra, r[0].Word(0)));
        Assert.False(r[1].HasTsc);
    }

    [Fact]
    public void A_cpus_later_block_continues_its_records_and_equal_tscs_go_to_the_lower_cpu()
    {
        // CPU 1's block comes first in the file, CPU 0 has two blocks: 0xA@20 (CPU 1) and 0xB@20 (CPU 0) tie, CPU 0 first.
        var b = new XenTraceBuilder().Cpu(1).At(20, 0xA).Cpu(0).At(5, 0x1).At(20, 0xB).Cpu(0).At(40, 0xC);
        Assert.Equal([0x1u, 0xB, 0xA, 0xC], Read(b).Select(x => x.Event));
    }

    [Fact]
    public void Lost_records_are_ordered_by_the_tsc_of_the_first_lost_record()
    {
        // TRC_LOST_RECORDS {lost, did:16|vid:16, first_tsc u64} logged at 100 on CPU 0 says records from 15 on were lost:
        // it goes between CPU 1's records at 10 and 20.
        var b = new XenTraceBuilder().Cpu(0).At(100, XenEvents.LostRecords, 7, 0x0001_0000, 15, 0).Cpu(1).At(10, 0xA).At(20, 0xB);
        Assert.Equal([0xAu, XenEvents.LostRecords, 0xB], Read(b).Select(x => x.Event));
    }

    [Fact]
    public void A_foreign_file_is_one_sentence_naming_the_file_and_byte_0()
    {
        var e = Assert.Throws<ImportFormatException>(() => Read("PK\u0003\u0004 not a trace"u8.ToArray(), skipBad: true, out _));
        Assert.Equal($"{_d.File("t.bin")}: byte 0: not a xentrace file (it does not start with a TRC_TRACE_CPU_CHANGE record; header 0x04034b50).", e.Message);
        e = Assert.Throws<ImportFormatException>(() => Read([], skipBad: false, out _));
        Assert.Equal($"{_d.File("t.bin")}: byte 0: the file is empty, not a xentrace file.", e.Message);
    }

    [Fact]
    public void A_truncated_block_names_its_offset_and_skip_bad_keeps_its_whole_records()
    {
        // Block 0 (bytes 0-27: header + A, 16 bytes) is whole; block 1 starts at byte 28 and declares two 12-byte records
        // (24 bytes); the file is cut 4 bytes short, so 20 are there: record B whole, C cut.
        byte[] whole = new XenTraceBuilder().Cpu(0).At(5, 0xA, 1).Cpu(1).At(10, 0xB).At(11, 0xC).Bytes();
        byte[] cut = whole[..^4];
        var e = Assert.Throws<ImportFormatException>(() => Read(cut, skipBad: false, out _));
        Assert.Equal($"{_d.File("t.bin")}: byte 28: truncated: CPU 1's block declares 24 bytes but the file ends 20 bytes after its header.", e.Message);
        var r = Read(cut, skipBad: true, out long bad);
        Assert.Equal([0xAu, 0xB], r.Select(x => x.Event));
        Assert.Equal(1, bad);
    }

    [Fact]
    public void A_record_that_overruns_its_block_is_bad_and_garbage_between_blocks_is_skipped_to_the_next_block()
    {
        // Block 0 declares 8 bytes but holds a record header saying TSC + 0 words (12 bytes): the record at byte 12 does
        // not fit. Then 8 bytes of garbage at byte 20, then a good block at byte 28.
        var bytes = new List<byte>();
        bytes.AddRange(Header(0, 8));
        bytes.AddRange([0x0a, 0, 0, 0x80, 1, 0, 0, 0]);
        bytes.AddRange([0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef]);
        bytes.AddRange(new XenTraceBuilder().Cpu(2).At(50, 0xB).Bytes());
        var e = Assert.Throws<ImportFormatException>(() => Read(bytes.ToArray(), skipBad: false, out _));
        Assert.Equal($"{_d.File("t.bin")}: byte 20: expected a TRC_TRACE_CPU_CHANGE record (the header of a per-CPU block), found header 0xefbeadde.", e.Message);
        var r = Read(bytes.ToArray(), skipBad: true, out long bad);
        Assert.Equal([0xBu], r.Select(x => x.Event));
        Assert.Equal(2, bad); // the garbage and the overrunning record

        bytes.RemoveRange(20, 8);
        var e2 = Assert.Throws<ImportFormatException>(() => Read(bytes.ToArray(), skipBad: false, out _));
        Assert.Equal($"{_d.File("t.bin")}: byte 12: truncated record: 12 bytes (header 0x8000000a) do not fit in the 8 left of CPU 0's block.", e2.Message);
    }

    private static byte[] Header(int cpu, int size)
    {
        var b = new byte[12];
        BitConverter.TryWriteBytes(b.AsSpan(0), 0x2001f003u);
        BitConverter.TryWriteBytes(b.AsSpan(4), cpu);
        BitConverter.TryWriteBytes(b.AsSpan(8), size);
        return b;
    }
}
