using Replay.Engines.Trace;
using Replay.Import;
using Replay.Tests.Cli;

namespace Replay.Tests.Import;

/// <summary>
/// drmemtrace import: exact counts on the threadsig sample and the interleave on hand-made threads.
/// Sample counts were taken independently of this code by tallying record types with Python:
/// <c>python3 -c "import zipfile,struct,collections as c,sys;print(sorted(c.Counter(t for t,s,a in
/// struct.iter_unpack('&lt;HHQ',zipfile.ZipFile(sys.argv[1]).read('chunk.0000'))).items()))" FILE</c>.
/// Worker thread 2765543 (3,072,069 records): type 0 READ 760,106; 1 WRITE 870,089; fetches 790,361 =
/// 10 INSTR 660,286 + 11 DIRECT_JUMP 10,006 + 12 INDIRECT_JUMP 10,000 + 14 DIRECT_CALL 10,009 +
/// 15 INDIRECT_CALL 2 + 16 RETURN 10,016 + 48 TAKEN_JUMP 40,010 + 49 UNTAKEN_JUMP 50,032; ignored: 29
/// INSTR_NO_FETCH 629,999; metadata: 28 MARKER 21,154, 47 ENCODING 355, one each of 22-26.
/// Main thread 2765542: READ 18,054; WRITE 10,424; fetches 79,427 = 60,260 + 698 + 149 + 1,501 + 74 +
/// 1,615 + 6,664 + 8,466; INSTR_NO_FETCH 78.
/// Instructions (every instruction type, a bundle counting its size; there are no bundles): worker 1,420,360
/// = 790,361 fetches + 629,999 no-fetch, main 79,505 = 79,427 + 78, counted with
/// <c>python3 -c "import zipfile,struct,sys;r=list(struct.iter_unpack('&lt;HHQ',zipfile.ZipFile(sys.argv[1]).read('chunk.0000')));
/// print(sum(t in (10,11,12,13,14,15,16,29,30,31,48,49) for t,s,a in r)+sum(min(s,8) for t,s,a in r if t==17))" FILE</c>.
/// </summary>
public sealed class DrMemTraceImporterTests : IDisposable
{
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public void The_worker_thread_imports_exactly_its_reads_writes_and_fetches()
    {
        var (stats, host) = Import(Samples.ThreadSigWorker);
        Assert.Equal((790_361L, 760_106L, 870_089L, 0L), (stats.Fetches, stats.Loads, stats.Stores, stats.Modifies));
        Assert.Equal(629_999, stats.Ignored);
        Assert.Equal(0, stats.BadRecords);
        Assert.Equal((1, 1), (stats.Threads, stats.Processes));
        Assert.Equal(760_106, host.Accesses[TraceOp.Read]);
        Assert.Equal(870_089, host.Accesses[TraceOp.Write]);
    }

    [Fact]
    public void Every_instruction_of_the_worker_is_a_fetch_or_retired_as_insns()
    {
        // 1,420,360 instructions: 790,361 fetches replayed, the 629,999 no-fetch ones retired.
        var (stats, host) = Import(Samples.ThreadSigWorker);
        Assert.Equal((1_420_360L, 629_999L), (stats.Instructions, stats.Insns));
        Assert.Equal((790_361L, 629_999L), (host.Accesses[TraceOp.Fetch], host.Retired));
    }

    [Fact]
    public void Every_instruction_of_both_threads_is_a_fetch_or_retired_as_insns()
    {
        // 1,420,360 + 79,505 = 1,499,865 instructions, of which 629,999 + 78 = 630,077 without a fetch.
        var (stats, host) = Import(Samples.ThreadSig);
        Assert.Equal((1_499_865L, 630_077L), (stats.Instructions, stats.Insns));
        Assert.Equal(630_077, host.Retired);
    }

    [Fact]
    public void No_fetch_and_bundled_instructions_are_retired_on_the_threads_vcpu_after_it_runs()
    {
        // ts 10 on CPU 3 (vCPU 1 of 2): a no-fetch first (the thread is marked and run before retiring), then a fetch,
        // a bundle of 3 (one fetch of 2 + 3 + 4 = 9 bytes after the fetch, 2 instructions retired), a no-fetch.
        DrZip.WriteThread(_d.File("a.zip"), 11, 1,
            [DrZip.Timestamp(10), DrZip.Cpu(3), DrZip.NoFetch(0x5000, 2), DrZip.Instr(0x5000, 2), DrZip.Bundle(2, 3, 4), DrZip.NoFetch(0x5002, 2)]);
        var (stats, host) = Import(_d.Path, keepCalls: true, vcpus: 2);
        Assert.Equal(
            ["create 0", "mark 1", "run 1 0", "retire 1 1", "Fetch 1 5000 2", "Fetch 1 5002 9", "retire 1 2", "retire 1 1", "exit 0"],
            host.Calls);
        Assert.Equal((2L, 4L, 6L), (stats.Fetches, stats.Insns, stats.Instructions));
    }

    [Fact]
    public void A_fetch_skipped_as_bad_is_still_an_instruction()
    {
        // The vsyscall page is outside user space: with --skip-bad the fetch is a bad record, retired as 1 insn.
        DrZip.WriteThread(_d.File("t.zip"), 1, 1, [DrZip.Timestamp(1), DrZip.Instr(0xFFFF_FFFF_FF60_0000, 4), DrZip.Read(0x1000, 8)]);
        var (stats, host) = Import(_d.File("t.zip"), keepCalls: true, skipBad: true);
        Assert.Equal(["create 0", "mark 1", "run 0 0", "retire 0 1", "Read 0 1000 8", "exit 0"], host.Calls);
        Assert.Equal((1L, 0L, 1L, 1L), (stats.BadRecords, stats.Fetches, stats.Insns, stats.Instructions));
    }

    [Fact]
    public void Instructions_after_the_limit_are_not_read()
    {
        // Limit 1: the read is the last record; the no-fetch after it is not imported.
        DrZip.WriteThread(_d.File("t.zip"), 1, 1, [DrZip.Timestamp(1), DrZip.Read(0x1000, 8), DrZip.NoFetch(0x5000, 2), DrZip.Read(0x2000, 8)]);
        var (stats, host) = Import(_d.File("t.zip"), limit: 1);
        Assert.Equal((1L, 0L, 0L), (stats.Records, stats.Insns, host.Retired));
    }

    [Fact]
    public void The_sample_folder_is_two_threads_of_one_process_and_skips_the_cpu_schedule()
    {
        var (stats, host) = Import(Samples.ThreadSig);
        Assert.Equal((790_361L + 79_427, 760_106L + 18_054, 870_089L + 10_424), (stats.Fetches, stats.Loads, stats.Stores));
        Assert.Equal(629_999 + 78, stats.Ignored);
        Assert.Equal((2, 1), (stats.Threads, stats.Processes));
        Assert.Equal(1, host.Switches); // one process on one vCPU: a single CR3 load
    }

    [Fact]
    public void Threads_interleave_by_timestamp_and_each_pid_is_one_process()
    {
        // A (pid 1): ts 10 read 0x1000, ts 30 read 0x2000. B (pid 2): ts 20 write 0x3000, ts 40 write 0x4000.
        // C (pid 1, A's sibling): ts 25 fetch 0x5000. Order by timestamp: A B C A B; C shares A's process,
        // so A's second segment needs no switch, and process 0 exits when A, its last thread, ends.
        DrZip.WriteThread(_d.File("a.zip"), 11, 1, [DrZip.Timestamp(10), DrZip.Read(0x1000, 8), DrZip.Timestamp(30), DrZip.Read(0x2000, 8)]);
        DrZip.WriteThread(_d.File("b.zip"), 22, 2, [DrZip.Timestamp(20), DrZip.Write(0x3000, 4)], [DrZip.Timestamp(40), DrZip.Write(0x4000, 4)]);
        DrZip.WriteThread(_d.File("c.zip"), 12, 1, [DrZip.Timestamp(25), DrZip.Instr(0x5000, 3)]);
        File.WriteAllText(_d.File(DrMemTraceImporter.ScheduleFile), "not read");
        var (_, host) = Import(_d.Path, keepCalls: true);
        Assert.Equal(
        [
            "create 0", "create 1",
            "mark 1", "run 0 0", "Read 0 1000 8",
            "mark 2", "run 0 1", "Write 0 3000 4",
            "mark 3", "run 0 0", "Fetch 0 5000 3",
            "Read 0 2000 8", "exit 0",
            "run 0 1", "Write 0 4000 4", "exit 1",
        ], host.Calls);
    }

    [Fact]
    public void A_thread_runs_on_the_vcpu_of_its_recorded_cpu()
    {
        DrZip.WriteThread(_d.File("a.zip"), 11, 1, [DrZip.Timestamp(10), DrZip.Cpu(3), DrZip.Read(0x1000, 8), DrZip.Timestamp(30), DrZip.Cpu(4), DrZip.Read(0x2000, 8)]);
        var (_, host) = Import(_d.Path, keepCalls: true, vcpus: 2);
        Assert.Equal(["create 0", "mark 1", "run 1 0", "Read 1 1000 8", "run 0 0", "Read 0 2000 8", "exit 0"], host.Calls);
    }

    [Fact]
    public void A_member_that_ends_inside_a_record_names_the_file_and_member()
    {
        DrZip.WriteMembers(_d.File("t.zip"), ("chunk.0000", DrZip.Pack([DrZip.Timestamp(1), DrZip.Read(0x1000, 8)])[..20]));
        var e = Assert.Throws<ImportFormatException>(() => Import(_d.File("t.zip")));
        Assert.Contains("t.zip:chunk.0000: ends inside a record", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_record_type_names_the_record_or_is_counted_with_skip_bad()
    {
        DrZip.WriteThread(_d.File("t.zip"), 1, 1, [DrZip.Timestamp(1), DrZip.Read(0x1000, 8), new DrRecord(77, 0, 0), DrZip.Read(0x2000, 8)]);
        var e = Assert.Throws<ImportFormatException>(() => Import(_d.File("t.zip")));
        Assert.Contains("t.zip:chunk.0000:record 5: unknown record type 77", e.Message, StringComparison.Ordinal);
        var (stats, _) = Import(_d.File("t.zip"), skipBad: true);
        Assert.Equal((2L, 1L), (stats.Loads, stats.BadRecords));
    }

    [Fact]
    public void A_kernel_address_is_an_error_naming_the_record()
    {
        DrZip.WriteThread(_d.File("t.zip"), 1, 1, [DrZip.Timestamp(1), DrZip.Read(0xFFFF_FFFF_FF60_0000, 8)]);
        var e = Assert.Throws<ImportFormatException>(() => Import(_d.File("t.zip")));
        Assert.Contains("t.zip:chunk.0000:record 4: address 0xffffffffff600000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zip_without_chunks_or_a_file_that_is_not_a_zip_is_refused()
    {
        DrZip.WriteMembers(_d.File("empty.zip"), ("readme", [1, 2, 3]));
        File.WriteAllText(_d.File("text.zip"), "hello");
        Assert.Contains("no chunk.NNNN members", Assert.Throws<ImportFormatException>(() => Import(_d.File("empty.zip"))).Message, StringComparison.Ordinal);
        Assert.Contains("text.zip: not a zip archive", Assert.Throws<ImportFormatException>(() => Import(_d.File("text.zip"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_limit_stops_after_that_many_records()
    {
        var (stats, _) = Import(Samples.ThreadSigWorker, limit: 1000);
        Assert.Equal(1000, stats.Records);
    }

    private static (ImportStats, RecordingHost) Import(string path, bool keepCalls = false, int vcpus = 1, bool skipBad = false, long? limit = null)
    {
        var host = new RecordingHost(vcpus, keepCalls);
        using var importer = new DrMemTraceImporter(path, new ImportOptions(vcpus, SkipBad: skipBad, Limit: limit));
        return (importer.Run(host), host);
    }
}
