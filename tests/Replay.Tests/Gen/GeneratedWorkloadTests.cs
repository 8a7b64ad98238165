using Replay.Engines.Paging;
using Replay.Cli;
using Replay.Gen;
using Replay.Tests.Cli;
using Replay.TraceIO;

namespace Replay.Tests.Gen;

public sealed class GeneratedWorkloadTests
{
    public static TheoryData<string, string> Variants()
    {
        var data = new TheoryData<string, string>();
        foreach (var w in Workloads.All)
        {
            foreach (var options in new[] { "", "--pcid --kpti", "--thp", "--vcpus 4 --pcid" })
            {
                data.Add(w.Name, options);
            }
        }

        data.Add("ctxswitch", "--kpti");
        data.Add("kernel-build", "--vcpus 4 --kpti --thp");
        data.Add("forkwait", "--vcpus 2 --levels 5 --ptdying");
        data.Add("database", "--vcpus 3 --memory 64M");
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Every_workload_and_kernel_variant_is_well_formed_and_every_engine_passes_verify(string workload, string options)
    {
        using var d = Cli.Cli.Temp();
        string trace = d.File("t.pq");
        string[] gen = ["gen", workload, "-o", trace, "--events", "20000", "--seed", "5", .. options.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        var (code, _, err) = await Cli.Cli.RunAsync(gen);
        Assert.True(code == 0, err);
        // Xen's shadow code runs guests of at most 4 paging levels: a 5-level trace takes only the kvm personality.
        string[] xen = options.Contains("--levels 5", StringComparison.Ordinal)
            ? []
            : ["--engine", "shadow-cached", "--engine", "shadow-cached:oos=false", "--engine", "shadow-cached:pool_pages=8",
                "--engine", "hybrid", "--engine", "hybrid:interval=500,hold=1,tlb_threshold=0,fault_threshold=30"];
        string[] run = [trace, "--verify", "--strict", "--out", d.File("r"),
            "--engine", "native", "--engine", "shadow-flush", "--engine", "shadow-flush:keep_global=true",
            .. xen, "--engine", "shadow-cached:personality=kvm", "--engine", "shadow-cached:personality=kvm,oos=false",
            "--engine", "shadow-cached:personality=kvm,pool_pages=8",
            "--engine", "writable-pt", "--engine", "ept", "--engine", "ept:large_pages=true",
            "--engine", "hybrid:shadow=kvm,interval=500,hold=1,tlb_threshold=0,fault_threshold=30"];
        (code, _, err) = await Cli.Cli.RunAsync(run);
        Assert.True(code == 0, $"{workload} {options}: {err}");

        // Every walk reference was served somewhere in the memory hierarchy, and every row counts the same guest work.
        var rows = await Analysis.Reports.ReportReader.ReadSummaryAsync(Path.Combine(d.File("r"), Analysis.Reports.ReportWriter.SummaryFile));
        Assert.All(rows, r => Assert.Equal(r.WalkRefs, r[Analysis.Reports.ReportMetrics.WalkL1] + r[Analysis.Reports.ReportMetrics.WalkL2]
            + r[Analysis.Reports.ReportMetrics.WalkL3] + r[Analysis.Reports.ReportMetrics.WalkMem]));
        Assert.Single(rows.Where(r => r.Phase == "all").Select(r => r[Analysis.Reports.ReportMetrics.Instructions]).Distinct());
        Assert.All(rows.Where(r => r.Engine != "ept" && !r.Engine.StartsWith("ept:", StringComparison.Ordinal) && !r.Engine.StartsWith("hybrid", StringComparison.Ordinal)),
            r => Assert.Equal(0, r[Analysis.Reports.ReportMetrics.NestedTlbHits]));
    }

    [Fact]
    public async Task The_trace_metadata_records_the_options_the_kernel_ran_with()
    {
        using var d = Cli.Cli.Temp();
        string trace = d.File("t.pq");
        var (code, _, err) = await Cli.Cli.RunAsync("gen", "webserver", "-o", trace, "--events", "5000", "--vcpus", "2", "--pcid", "--memory", "1G", "--levels", "5");
        Assert.True(code == 0, err);
        await using var reader = await TraceReader.OpenAsync(trace);
        Assert.Equal(2, reader.Info.Vcpus);
        Assert.Equal(1UL << 30, reader.Info.MemoryBytes);
        Assert.Equal(5, reader.Info.PagingLevels);
        Assert.True(reader.Info.Pcid);
        Assert.Equal("replay gen webserver --seed 1 --events 5000 --vcpus 2 --memory 1073741824 --levels 5 --pcid", reader.Info.Source);
        Assert.Equal("serve", reader.Info.Markers[2]);
    }

    [Theory]
    [InlineData("forkwait")]
    [InlineData("kernel-build")]
    public async Task The_same_seed_and_options_give_the_same_trace_byte_for_byte_and_events_scale(string workload)
    {
        using var d = Cli.Cli.Temp();
        await Cli.Cli.RunAsync("gen", workload, "-o", d.File("a.pq"), "--events", "20000", "--seed", "9", "--pcid");
        await Cli.Cli.RunAsync("gen", workload, "-o", d.File("b.pq"), "--events", "20000", "--seed", "9", "--pcid");
        Assert.Equal(await File.ReadAllBytesAsync(d.File("a.pq")), await File.ReadAllBytesAsync(d.File("b.pq")));
        long small = await GenCommand.GenerateAsync(Workloads.Find(workload)!, d.File("c.pq"), 1, 10_000);
        long large = await GenCommand.GenerateAsync(Workloads.Find(workload)!, d.File("d.pq"), 1, 100_000);
        Assert.InRange(small, 10_000, 12_000);
        Assert.InRange(large, 100_000, 102_000);
    }

    [Theory]
    [InlineData("--vcpus", "65")]
    [InlineData("--levels", "3")]
    [InlineData("--memory", "lots")]
    [InlineData("--memory", "1M")]
    public async Task Bad_kernel_options_are_usage_errors_naming_the_option(string option, string value)
    {
        using var d = Cli.Cli.Temp();
        var (code, _, err) = await Cli.Cli.RunAsync("gen", "forkwait", "-o", d.File("t.pq"), option, value);
        Assert.Equal(2, code);
        Assert.Contains(option, err);
    }

    [Fact]
    public void Every_workload_has_a_description_saying_what_it_stands_for()
    {
        Assert.Equal(["forkwait", "kernel-build", "webserver", "database", "ctxswitch", "demand"], Workloads.All.Select(w => w.Name));
        Assert.All(Workloads.All, w => Assert.True(w.Description.Length > 40, w.Name));
    }
}

public sealed class ReclaimTraceTests
{
    [Fact]
    public async Task Reclaim_under_memory_pressure_with_threads_on_two_vcpus_keeps_the_trace_well_formed_for_every_engine()
    {
        using var d = Cli.Cli.Temp();
        string trace = d.File("reclaim.pq");
        var options = new Replay.Kernel.KernelOptions { Vcpus = 2, Pcid = true, MemoryBytes = 64UL << 20 };
        var info = new Replay.Engines.Trace.TraceInfo { Vcpus = 2, Pcid = true, MemoryBytes = options.MemoryBytes, Source = "test" };
        long reclaims;
        await using (var writer = await TraceWriter.CreateAsync(trace, info, hasTime: true))
        {
            var k = new Replay.Kernel.GuestKernel(options, b => writer.WriteAsync(b).AsTask().GetAwaiter().GetResult());
            var db = k.CreateProcess();
            var other = k.CreateProcess();
            k.Run(0, db);
            k.Run(1, db); // a thread per vCPU: reclaiming db's pages needs a shootdown on both
            for (int i = 0; i < 17_000; i++)
            {
                int v = i & 1;
                if (i % 4000 == 3999)
                {
                    k.Run(v, other);
                    k.Access(v, Replay.Engines.Trace.TraceOp.Write, new Gva(0x5000_0000UL + ((ulong)i << 12)));
                    k.Run(v, db);
                }

                k.Access(v, Replay.Engines.Trace.TraceOp.Write, new Gva(0x1000_0000UL + ((ulong)i << 12)));
                k.Access(v, Replay.Engines.Trace.TraceOp.Read, new Gva(0x1000_0000UL + ((ulong)(i / 2) << 12))); // refaults reclaimed pages
            }

            k.Complete();
            reclaims = k.Reclaims;
            await writer.CompleteAsync();
        }

        Assert.True(reclaims > 1000, $"{reclaims} reclaims");
        var (code, _, err) = await Cli.Cli.RunAsync(trace, "--verify", "--strict", "--out", d.File("r"),
            "--engine", "native", "--engine", "shadow-flush", "--engine", "shadow-cached", "--engine", "shadow-cached:personality=kvm",
            "--engine", "writable-pt", "--engine", "ept");
        Assert.True(code == 0, err);
    }
}
