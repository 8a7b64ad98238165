using Replay.Import.Xentrace;
using Replay.Tests.Cli;

namespace Replay.Tests.Import.Xentrace;

/// <summary>Exits measured as xenalyze measures them, on hand-built traces (runstates: 0 running, 1 runnable, 2 blocked).</summary>
public sealed class XenTraceModelTests : IDisposable
{
    private static readonly XenVcpu D1V0 = new(1, 0);
    private readonly TempDir _d = Cli.Cli.Temp();

    public void Dispose() => _d.Dispose();

    private XenMeasurement Measure(XenTraceBuilder b, IXenGuestSink? sink = null, ulong window = 1000)
    {
        string path = _d.File("t.bin");
        b.WriteTo(path);
        var m = new XenMeasurement { WindowCycles = window };
        var model = new XenTraceModel(m, sink);
        using var f = XentraceFile.Open(path, skipBad: false);
        foreach (var r in f.Records())
        {
            model.Process(r);
        }

        return m;
    }

    private static (long Count, ulong Cycles) Get(XenMeasurement m, XenVcpu v, int reason, string handler) =>
        m.Exits.TryGetValue(v, out var k) && k.TryGetValue(new XenExitKind(reason, handler), out var t) ? (t.Count, t.Cycles) : (0, 0);

    [Fact]
    public void An_exit_runs_from_its_vmexit_to_its_vmentry_and_is_named_by_its_first_handler_record()
    {
        // d1v0 becomes running on CPU 0 at 100; CPUID exit at 200 (handler cpuid), entry at 260: 60 cycles.
        // EXTERNAL_INTERRUPT at 300: inj_virq (an entry-path record) is not its handler, intr is; entry at 340: 40.
        var b = new XenTraceBuilder().Cpu(0).Runstate(100, 1, 0, 1, 0)
            .Exit(200, 10).NoTsc(0x8200e, 0, 0, 0, 0, 0).Entry(260)
            .Exit(300, 1).NoTsc(XenEvents.InjVirq, 33, 0).NoTsc(0x8200f, 33).Entry(340);
        var m = Measure(b);
        Assert.Equal((1L, 60UL), Get(m, D1V0, 10, "cpuid"));
        Assert.Equal((1L, 40UL), Get(m, D1V0, 1, "intr"));
        Assert.Equal(2, m.Exits[D1V0].Values.Sum(t => t.Count));
    }

    [Fact]
    public void A_hlt_is_charged_until_its_vcpu_becomes_runnable_as_hvm_close_vmexit_does()
    {
        // HLT at 300; d1v0 blocks at 310 (leaving CPU 0 without a vCPU); woken (blocked -> runnable) at 1000, which
        // closes the exit: 700 cycles. The entry at 1020 after it runs again finds no open exit.
        var b = new XenTraceBuilder().Cpu(0).Runstate(100, 1, 0, 1, 0)
            .Exit(300, 12).NoTsc(0x82013, 0).Runstate(310, 1, 0, 0, 2)
            .Runstate(1000, 1, 0, 2, 1).Runstate(1010, 1, 0, 1, 0).Entry(1020);
        var m = Measure(b);
        Assert.Equal((1L, 700UL), Get(m, D1V0, 12, "hlt"));
        Assert.Single(m.Exits[D1V0]);
    }

    [Fact]
    public void A_vmcall_is_named_by_its_hypercall_and_a_pf_xen_by_the_shadow_codes_outcome()
    {
        // VMCALL eax 24 = vcpu_op (xen.h); a 64-bit PF_XEN {va lo, va hi, ec} then TRC_SHADOW_FIXUP for a 4-level
        // guest (0x0040f006 | 2 << 8): handler pf_xen:fixup. A 32-bit VMX exit (TRC_HVM_VMX_EXIT {reason, eip}) is
        // counted the same way.
        var b = new XenTraceBuilder().Cpu(0).Runstate(100, 1, 0, 1, 0)
            .Exit(200, 18).NoTsc(XenEvents.Vmmcall, 24).Entry(230)
            .Exit(300, 0).NoTsc(XenEvents.PfXen | XenEvents.Flag64, 0x5000, 0, 2).NoTsc(0x0040f206, 1, 2, 3, 4, 5, 6).Entry(350)
            .At(400, XenEvents.VmxExit, 18, 0x8000).NoTsc(XenEvents.Vmmcall, 99).Entry(411);
        var m = Measure(b);
        Assert.Equal((1L, 30UL), Get(m, D1V0, 18, "vcpu_op"));
        Assert.Equal((1L, 50UL), Get(m, D1V0, 0, "pf_xen:fixup"));
        Assert.Equal((1L, 11UL), Get(m, D1V0, 18, "hypercall_99"));
        Assert.Equal(1, m.Counters["shadow_fixup"]);
    }

    [Fact]
    public void An_amd_svm_exit_is_counted_under_the_intel_reason_of_the_same_event()
    {
        // TRC_HVM_SVM_EXIT64 {exitcode, rip64}: VMEXIT_NPF (0x400) is EPT_VIOLATION (48), VMEXIT_VMMCALL (0x81) VMCALL
        // (18); VMEXIT_MSR (0x7c, read or write) has no single Intel reason: SVM_EXIT_0x7c, reason_code -1.
        var b = new XenTraceBuilder().Cpu(0).Runstate(100, 1, 0, 1, 0)
            .At(200, XenEvents.SvmExit | XenEvents.Flag64, 0x400, 0, 0).NoTsc(XenEvents.Npf, 0x1000, 0, 0, 0, 1, 0).Entry(205)
            .At(300, XenEvents.SvmExit | XenEvents.Flag64, 0x81, 0, 0).NoTsc(XenEvents.Vmmcall, 29).Entry(307)
            .At(400, XenEvents.SvmExit | XenEvents.Flag64, 0x7c, 0, 0).Entry(409);
        var m = Measure(b);
        Assert.Equal((1L, 5UL), Get(m, D1V0, 48, "npf"));
        Assert.Equal((1L, 7UL), Get(m, D1V0, 18, "sched_op"));
        Assert.Equal((1L, 9UL), Get(m, D1V0, VmxExitReasons.SvmBase + 0x7c, "(no handler)"));
        Assert.Equal(("SVM_EXIT_0x7c", -1), (VmxExitReasons.Name(VmxExitReasons.SvmBase + 0x7c), VmxExitReasons.ReportCode(VmxExitReasons.SvmBase + 0x7c)));
    }

    [Fact]
    public void Exits_without_a_vcpu_an_unclosed_exit_and_lost_records_are_counted_not_measured()
    {
        // CPU 1 never saw a runstate change: its exit belongs to no vCPU. On CPU 0, an exit at 200 is followed by
        // another at 250 (the first is dropped, exits_unclosed), which closes at 270: 20 cycles. An exit at 300 is
        // open when TRC_LOST_RECORDS arrives at 320: dropped (exits_lost), and CPU 0 has no vCPU until the next
        // runstate change, so the entry at 330 closes nothing. Unknown events are counted.
        var b = new XenTraceBuilder()
            .Cpu(1).Exit(150, 10).Entry(160)
            .Cpu(0).Runstate(100, 1, 0, 1, 0).Exit(200, 10).Exit(250, 10).Entry(270)
            .Exit(300, 30).At(320, XenEvents.LostRecords, 9, 0x0001_0000, 310, 0).Entry(330)
            .At(340, 0x00084011, 1, 2).At(341, 0x00123456);
        var m = Measure(b);
        Assert.Equal((1L, 20UL), Get(m, D1V0, 10, "(no handler)"));
        Assert.Single(m.Exits[D1V0]);
        Assert.Equal((1L, 1L, 9L, 1L), (m.Counters["exits_unclosed"], m.Counters["exits_lost"], m.Counters["lost_records"], m.Counters["lost_record_events"]));
        Assert.Equal(3, m.Counters["hvm_records_without_vcpu"]); // CPU 1's exit and entry, CPU 0's entry after the loss
        Assert.Equal(2, m.Counters["unknown_events"]);
    }

    [Fact]
    public void Exits_fall_in_windows_of_tsc_time_from_the_first_tsc()
    {
        // First TSC 100; windows of 1000 cycles: exits at 200 and 1050 in window 0, at 1150 in window 1.
        var b = new XenTraceBuilder().Cpu(0).Runstate(100, 1, 0, 1, 0).Exit(200, 10).Entry(210).Exit(1050, 10).Entry(1060).Exit(1150, 10).Entry(1170);
        var m = Measure(b);
        Assert.Equal([0L, 1L], m.Windows.Keys);
        Assert.Equal(2, m.Windows[0].Values.Sum(t => t.Count));
        Assert.Equal(20UL, m.Windows[1].Values.Single().Cycles);
    }

    [Fact]
    public void Guest_events_go_to_the_vcpu_running_on_the_records_cpu()
    {
        // d1v0 on CPU 0, d2v3 on CPU 1: a 64-bit CR_WRITE {cr 3, value} and an NPF {gpa, mfn, qualification, p2mt}.
        // Then on CPU 0 a 32-bit PF_XEN {va, ec}, a 32-bit INVLPG {is_invlpga, va}, and a PV guest's 64-bit
        // PTWR_EMULATION {pte u64, addr u64, eip u64} (d5v0, running on CPU 2).
        var b = new XenTraceBuilder()
            .Cpu(0).Runstate(100, 1, 0, 1, 0).Exit(200, 28).NoTsc(XenEvents.CrWrite | XenEvents.Flag64, 3, 0x1234_5000, 0x1).Entry(220)
            .Exit(300, 0).NoTsc(XenEvents.PfXen, 0x8048_000, 0x6).Entry(310).Exit(320, 14).NoTsc(XenEvents.Invlpg, 0, 0xb000).Entry(330)
            .Cpu(1).Runstate(150, 2, 3, 1, 0).Exit(250, 48).NoTsc(XenEvents.Npf, 0xfee0_0000, 0, 0x99, 0, 0x182, 1).Entry(260)
            .Cpu(2).Runstate(400, 5, 0, 1, 0).At(410, XenEvents.PtwrEmulation | XenEvents.Flag64, 0x1234_5067, 0, 0x7000_0008, 0x7f, 0xffff_1000, 0xffff_8000);
        var sink = new Recorder();
        Measure(b, sink);
        Assert.Equal(["d1v0 cr3 0x112345000", "d2v3 npf 0xfee00000 q 0x182", "d1v0 pf 0x8048000 ec 6", "d1v0 invlpg 0xb000", "d5v0 ptwr 0x7f70000008 pte 0x12345067"], sink.Seen);
    }

    private sealed class Recorder : IXenGuestSink
    {
        public List<string> Seen { get; } = [];

        public void Cr3(XenVcpu v, ulong value) => Seen.Add($"{v} cr3 0x{value:x}");

        public void ShadowFault(XenVcpu v, ulong va, uint errorCode) => Seen.Add($"{v} pf 0x{va:x} ec {errorCode}");

        public void Invlpg(XenVcpu v, ulong va) => Seen.Add($"{v} invlpg 0x{va:x}");

        public void EptViolation(XenVcpu v, ulong gpa, uint qualification) => Seen.Add($"{v} npf 0x{gpa:x} q 0x{qualification:x}");

        public void PtwrEmulation(XenVcpu v, ulong addr, ulong pte) => Seen.Add($"{v} ptwr 0x{addr:x} pte 0x{pte:x}");
    }
}
