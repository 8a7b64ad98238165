using Replay.Engines.Trace;

namespace Replay.Import.Xentrace;

/// <summary>
/// Turns one domain's guest-visible memory events (<see cref="IXenGuestSink"/>) into processes of the guest kernel
/// model, as the lackey importer turns access streams into them: vCPU v of the domain runs on guest vCPU v mod vCPUs.
/// <list type="bullet">
/// <item>A CR3 write (a shadow-mode guest) switches the vCPU to the process of that root (CR3 bits 51:12), one
/// process per distinct root.</item>
/// <item>A <c>PF_XEN</c> fault at a user address is an access there by the vCPU's current process: a fetch when the
/// error code's I/D bit (4) is set, a write when its W/R bit (1) is, else a read. Kernel-half addresses are ignored
/// (the kernel model maps no kernel pages of its own for a process).</item>
/// <item>A <c>PTWR_EMULATION</c> (a PV guest's page-table write) at a user address is a write there, else ignored.</item>
/// <item>An EPT violation (<c>NPF</c>, a HAP guest, whose gvas and CR3s the trace never shows) is an access to its gpa
/// in one "physical view" process per domain, at va <see cref="PhysicalViewBase"/> + gpa; the kind from the exit
/// qualification (bit 2 fetch, bit 1 write, else read).</item>
/// <item>INVLPG is counted and ignored: the kernel model issues the invalidations its own page-table writes need.</item>
/// </list>
/// A fault on a vCPU that has not loaded a CR3 yet runs in the domain's process for an unknown root.
/// </summary>
internal sealed class XenGuestImporter(IProcessHost host, int domain, ImportStats stats, long limit) : IXenGuestSink
{
    /// <summary>Where the physical-view process maps gpa 0: 1 TiB, so gpas below 2^46 fit in the user range.</summary>
    public const ulong PhysicalViewBase = 1UL << 40;

    private const ulong Cr3RootMask = 0x000f_ffff_ffff_f000;
    private const uint PfWrite = 1u << 1;
    private const uint PfFetch = 1u << 4;

    private readonly Dictionary<ulong, int> _roots = [];
    private readonly Dictionary<int, int> _running = [];
    private int? _physicalView;
    private int? _unknownRoot;

    /// <summary>Invalidations seen (and left to the kernel model).</summary>
    public long Invlpgs { get; private set; }

    /// <summary>True once <c>--limit</c> access records were imported.</summary>
    public bool Done => stats.Records >= limit;

    public void Cr3(XenVcpu v, ulong value)
    {
        if (v.Domain != domain || Done)
        {
            return;
        }

        ulong root = value & Cr3RootMask;
        if (!_roots.TryGetValue(root, out int p))
        {
            _roots[root] = p = NewProcess();
        }

        Run(v, p);
    }

    public void ShadowFault(XenVcpu v, ulong va, uint errorCode)
    {
        if (v.Domain != domain || Done)
        {
            return;
        }

        TraceOp kind = (errorCode & PfFetch) != 0 ? TraceOp.Fetch : (errorCode & PfWrite) != 0 ? TraceOp.Write : TraceOp.Read;
        Access(v, _running.TryGetValue(Vcpu(v), out int p) && p != _physicalView ? p : UnknownRoot(), kind, va);
    }

    public void Invlpg(XenVcpu v, ulong va)
    {
        if (v.Domain == domain)
        {
            Invlpgs++;
            stats.Ignored++;
        }
    }

    public void EptViolation(XenVcpu v, ulong gpa, uint qualification)
    {
        if (v.Domain != domain || Done)
        {
            return;
        }

        TraceOp kind = (qualification & 4) != 0 ? TraceOp.Fetch : (qualification & 2) != 0 ? TraceOp.Write : TraceOp.Read;
        _physicalView ??= NewProcess();
        Access(v, _physicalView.Value, kind, gpa < UserSpace.Top - PhysicalViewBase ? PhysicalViewBase + gpa : ulong.MaxValue);
    }

    public void PtwrEmulation(XenVcpu v, ulong addr, ulong pte)
    {
        if (v.Domain != domain || Done)
        {
            return;
        }

        Access(v, _running.TryGetValue(Vcpu(v), out int p) && p != _physicalView ? p : UnknownRoot(), TraceOp.Write, addr);
    }

    private void Access(XenVcpu v, int process, TraceOp kind, ulong va)
    {
        if (!UserSpace.Contains(va, 1))
        {
            stats.Ignored++;
            return;
        }

        Run(v, process);
        host.Access(Vcpu(v), kind, va, 1);
        stats.Count(kind);
    }

    private void Run(XenVcpu v, int process)
    {
        int vcpu = Vcpu(v);
        if (!_running.TryGetValue(vcpu, out int current) || current != process)
        {
            host.Run(vcpu, process);
            _running[vcpu] = process;
        }
    }

    private int UnknownRoot() => _unknownRoot ??= NewProcess();

    private int NewProcess()
    {
        stats.Processes++;
        return host.CreateProcess();
    }

    private int Vcpu(XenVcpu v) => v.Vcpu % host.Vcpus;
}
