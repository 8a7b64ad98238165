namespace Replay.Import.Xentrace;

/// <summary>
/// Reads a xentrace file (<see cref="XentraceFile"/>) through the xenalyze model (<see cref="XenTraceModel"/>): the
/// measured exits (<see cref="Measure"/>) and, for a trace, one domain's guest memory events on the guest kernel model
/// (<see cref="Run"/>, via <see cref="XenGuestImporter"/>).
/// </summary>
internal sealed class XentraceImporter(string path, ImportOptions options, int? domain)
{
    /// <summary>Measures every exit of every vCPU; throws when the file holds no valid record.</summary>
    public XenMeasurement Measure(ulong windowCycles)
    {
        var m = new XenMeasurement { WindowCycles = Math.Max(windowCycles, 1) };
        options.Progress?.Start($"{Path.GetFileName(path)} (measuring)", new FileInfo(path).Length);
        using var file = XentraceFile.Open(path, options.SkipBad, options.Progress);
        var model = new XenTraceModel(m);
        foreach (var r in file.Records())
        {
            model.Process(r);
        }

        m.Count("bad_records", file.BadRecords);
        m.Count("cpu_windows", file.Windows);
        return m.Records > 0 ? m : throw new ImportFormatException($"{path}: byte 0: no valid xentrace record in it; nothing to import.");
    }

    /// <summary>The domain whose events become the trace: <c>--domain</c>, else the one with the most guest memory events (ties: the lower id).</summary>
    public int GuestDomain()
    {
        if (domain is int d)
        {
            return d;
        }

        var counter = new DomainCounter();
        options.Progress?.Start($"{Path.GetFileName(path)} (finding the domain)", new FileInfo(path).Length);
        using var file = XentraceFile.Open(path, options.SkipBad, options.Progress);
        var model = new XenTraceModel(new XenMeasurement(), counter);
        foreach (var r in file.Records())
        {
            model.Process(r);
        }

        return counter.Events.Count == 0
            ? throw new ImportFormatException($"{path}: byte 0: no guest memory event (CR3 write, PF_XEN, NPF or PTWR emulation) in it; nothing to write as a trace.")
            : counter.Events.OrderByDescending(e => e.Value).ThenBy(e => e.Key).First().Key;
    }

    /// <summary>Drives <paramref name="host"/> with domain <paramref name="guestDomain"/>'s events to the end of the file (or the limit).</summary>
    public ImportStats Run(IProcessHost host, int guestDomain)
    {
        ArgumentNullException.ThrowIfNull(host);
        var stats = new ImportStats();
        var guest = new XenGuestImporter(host, guestDomain, stats, options.Limit ?? long.MaxValue);
        var vcpus = new HashSet<int>();
        options.Progress?.Start(Path.GetFileName(path), new FileInfo(path).Length);
        using var file = XentraceFile.Open(path, options.SkipBad, options.Progress);
        var model = new XenTraceModel(new XenMeasurement(), new VcpuTap(guest, guestDomain, vcpus));
        foreach (var r in file.Records())
        {
            model.Process(r);
            if (guest.Done)
            {
                break;
            }
        }

        stats.BadRecords = file.BadRecords;
        stats.Threads = vcpus.Count;
        if (stats.Records == 0)
        {
            throw new ImportFormatException(
                $"{path}: byte 0: domain {guestDomain} has no guest memory event at a user address (CR3 write with a fault, PF_XEN, NPF or PTWR emulation); nothing to write as a trace.");
        }

        stats.Events = host.Events;
        return stats;
    }

    /// <summary>Counts guest memory events by domain (the pass that picks the default domain).</summary>
    private sealed class DomainCounter : IXenGuestSink
    {
        public Dictionary<int, long> Events { get; } = [];

        public void Cr3(XenVcpu v, ulong value) => Add(v);

        public void ShadowFault(XenVcpu v, ulong va, uint errorCode) => Add(v);

        public void Invlpg(XenVcpu v, ulong va)
        {
        }

        public void EptViolation(XenVcpu v, ulong gpa, uint qualification) => Add(v);

        public void PtwrEmulation(XenVcpu v, ulong addr, ulong pte) => Add(v);

        private void Add(XenVcpu v) => Events[v.Domain] = Events.GetValueOrDefault(v.Domain) + 1;
    }

    /// <summary>Passes events on and notes the guest domain's vCPUs.</summary>
    private sealed class VcpuTap(IXenGuestSink inner, int guestDomain, HashSet<int> vcpus) : IXenGuestSink
    {
        public void Cr3(XenVcpu v, ulong value)
        {
            Note(v);
            inner.Cr3(v, value);
        }

        public void ShadowFault(XenVcpu v, ulong va, uint errorCode)
        {
            Note(v);
            inner.ShadowFault(v, va, errorCode);
        }

        public void Invlpg(XenVcpu v, ulong va) => inner.Invlpg(v, va);

        public void EptViolation(XenVcpu v, ulong gpa, uint qualification)
        {
            Note(v);
            inner.EptViolation(v, gpa, qualification);
        }

        public void PtwrEmulation(XenVcpu v, ulong addr, ulong pte)
        {
            Note(v);
            inner.PtwrEmulation(v, addr, pte);
        }

        private void Note(XenVcpu v)
        {
            if (v.Domain == guestDomain)
            {
                vcpus.Add(v.Vcpu);
            }
        }
    }
}
