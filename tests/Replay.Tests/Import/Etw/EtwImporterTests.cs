using Replay.Engines.Trace;
using Replay.Import;
using Replay.Import.Etw;
using Replay.Tests.Cli;
using Replay.TraceIO;
using Xunit;

namespace Replay.Tests.Import.Etw;

/// <summary>The import's rules on an ETL the test writes: CSwitch schedules, soft faults, thread creation, kernel addresses.</summary>
public sealed class EtwImporterTests : IDisposable
{
    private const ulong Dtb = 0x0200_0000;
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    /// <summary>
    /// CPU 0: Process/Start pid 100 (DirectoryTableBase 0x2000000) at t=10, Thread/Start tid 200 with TEB 0x7fffffde000
    /// and user stack base 0x100000 at t=11, a kernel-address HardFault by tid 200 at t=16, Process/Stop at t=17.
    /// CPU 1: CSwitch to tid 200 at t=12, a PERFINFO DemandZeroFault at 0x10000 (no thread in the header: the CPU's
    /// current thread, 200, so pid 100) at t=13, CopyOnWrite at 0x20000 at t=14, TransitionFault at its own program
    /// counter 0x401000 at t=15.
    /// </summary>
    /// <remarks>With 32-bit pointers the TEB is at 0x7ffde000, the kernel address 0x80001000 (above the 2 GiB user
    /// half, but a user address of the model: it is a read), and the CopyOnWrite has a compact header.</remarks>
    private static byte[] Sample(bool withExit = true, int pointer = 8)
    {
        var w = new EtlWriter(2, pointer);
        ulong teb = pointer == 8 ? 0x7FF_FFFD_E000UL : 0x7FFD_E000UL;
        ulong kernel = pointer == 8 ? 0xFFFF_F800_0000_1000UL : 0x8000_1000UL;
        w.System(0, EtwKernel.GroupProcess, EtwKernel.Start, 4, 50, 4, 10, w.Process(100, Dtb, "app.exe"))
            .System(0, EtwKernel.GroupThread, EtwKernel.Start, 3, 50, 100, 11, w.Thread(100, 200, 0x10_0000, teb))
            .PerfInfo(0, EtwKernel.GroupMemory, EtwKernel.HardFault, 2, 16, w.HardFault(kernel, 200))
            .PerfInfo(1, EtwKernel.GroupThread, EtwKernel.CSwitch, 2, 12, EtlWriter.CSwitch(200, 0))
            .PerfInfo(1, EtwKernel.GroupMemory, EtwKernel.DemandZeroFault, 2, 13, w.PageFault(0x1_0000, 0x40_1000))
            .System(1, EtwKernel.GroupMemory, EtwKernel.CopyOnWrite, 2, 200, 100, 14, w.PageFault(0x2_0000, 0x40_1000), compact: pointer == 4)
            .System(1, EtwKernel.GroupMemory, EtwKernel.TransitionFault, 2, 200, 100, 15, w.PageFault(0x40_1000, 0x40_1000));
        if (withExit)
        {
            w.System(0, EtwKernel.GroupProcess, EtwKernel.Stop, 4, 50, 100, 17, w.Process(100, Dtb, "app.exe"));
        }

        return w.ToArray();
    }

    [Fact]
    public void A_32_bit_logger_has_4_byte_pointers_and_compact_headers()
    {
        var r = EtlReader.Read("t.etl", Sample(pointer: 4), skipBad: false);
        Assert.Equal(4, r.Header.PointerSize);
        Assert.Equal(0x7FFD_E000UL, EtwPayloads.Thread(r.Events[1], 4).TebBase);
        Assert.Equal((200, 100), (r.Events[4].ThreadId, r.Events[4].ProcessId)); // the compact header's ids
        Assert.Equal(new MemoryPageFaultTraceData(0x2_0000, 0x40_1000), EtwPayloads.PageFault(r.Events[4], 4));
        var p = EtwPayloads.Process(r.Events[0], 4);
        Assert.Equal((100, Dtb, "app.exe"), (p.ProcessID, p.DirectoryTableBase, p.ImageFileName));

        string etl = Path.Combine(_d.Path, "t32.etl");
        File.WriteAllBytes(etl, Sample(pointer: 4));
        var stats = new EtwImporter(etl, new ImportOptions(Vcpus: 2)).Run(new RecordingHost(vcpus: 2));

        // As the 64-bit sample, but the hard fault at 0x80001000 is a user address of the model: a read, not ignored.
        Assert.Equal((3L, 2L, 1L, 0L), (stats.Stores, stats.Loads, stats.Fetches, stats.Ignored));
    }

    [Fact]
    public void Events_are_merged_across_processors_by_timestamp()
    {
        var r = EtlReader.Read("t.etl", Sample(), skipBad: false);
        Assert.Equal([10L, 11, 12, 13, 14, 15, 16, 17], r.Events.Select(e => e.TimeStamp));
        Assert.Equal([0, 0, 1, 1, 1, 1, 0, 0], r.Events.Select(e => e.Processor));
        Assert.Equal(-1, r.Events[3].ThreadId); // PERFINFO: no thread in the header
    }

    [Fact]
    public void Soft_faults_follow_the_CSwitch_schedule_and_thread_creation_writes_TEB_and_stack()
    {
        string etl = _d.File("t.etl");
        File.WriteAllBytes(etl, Sample());
        var host = new RecordingHost(vcpus: 2, keepCalls: true);
        var stats = new EtwImporter(etl, new ImportOptions(Vcpus: 2)).Run(host);

        // Writes: the TEB and the stack's first slot (thread start), CopyOnWrite. Read: DemandZero. Fetch: the
        // fault at its own program counter. Ignored: the hard fault at a kernel address.
        Assert.Equal((3L, 1L, 1L, 1L, 1, 1), (stats.Stores, stats.Loads, stats.Fetches, stats.Ignored, stats.Processes, stats.Threads));
        Assert.Equal(
            ["create 0 root 0x2000", "run 0 0", "run 1 0"],
            host.Calls.Where(c => c.StartsWith("create", StringComparison.Ordinal) || c.StartsWith("run", StringComparison.Ordinal)));
        Assert.Equal(2, host.Switches); // vCPU 0 at thread start, vCPU 1 at the CSwitch
    }

    [Fact]
    public async Task The_written_trace_loads_the_real_DirectoryTableBase_and_replays_strictly()
    {
        string etl = _d.File("t.etl"), trace = _d.File("t.pq");
        File.WriteAllBytes(etl, Sample());
        var (code, stdout, stderr) = await Cli.Cli.RunAsync("import", "etw", etl, "--vcpus", "2", "-o", trace);
        Assert.True(code == 0, stderr);
        Assert.Contains("5 records (1 fetches, 1 loads, 3 stores, 0 modifies)", stdout, StringComparison.Ordinal);

        await using (var reader = await TraceReader.OpenAsync(trace))
        {
            var cr3ByVcpu = new HashSet<(int, ulong)>();
            var batch = new EventBatch(1 << 16);
            while (await reader.ReadNextAsync(batch))
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    if (batch.Op[i] == (byte)TraceOp.Cr3 && batch.Value[i] == Dtb)
                    {
                        cr3ByVcpu.Add((batch.Vcpu[i], batch.Value[i]));
                    }
                }
            }

            Assert.Equal([(0, Dtb), (1, Dtb)], cr3ByVcpu.Order());
            Assert.Equal("pid 100 app.exe DirectoryTableBase 0x2000000", reader.Info.Markers[1]);
            Assert.StartsWith("replay import etw ", reader.Info.Source, StringComparison.Ordinal);
        }

        (code, _, stderr) = await Cli.Cli.RunAsync(trace, "--engine", "all", "--verify", "--strict", "--out", _d.File("reports"));
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public void The_same_file_gives_the_same_import()
    {
        string etl = _d.File("t.etl");
        File.WriteAllBytes(etl, Sample(withExit: false));
        var a = new RecordingHost(vcpus: 2, keepCalls: true);
        var b = new RecordingHost(vcpus: 2, keepCalls: true);
        new EtwImporter(etl, new ImportOptions(Vcpus: 2)).Run(a);
        new EtwImporter(etl, new ImportOptions(Vcpus: 2)).Run(b);
        Assert.Equal(a.Calls, b.Calls);
    }
}
