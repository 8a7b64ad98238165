namespace Replay.Import.Xentrace;

/// <summary>
/// Follows a merged xentrace as xenalyze does (tools/xentrace/xenalyze.c) and measures exits: which vCPU runs on each
/// physical CPU comes from the runstate changes (<c>sched_runstate_process</c>: a vCPU entering <c>running</c> becomes
/// the CPU's current one, one leaving it leaves the CPU without one; a vCPU's first record that does not put it in
/// <c>running</c> leaves it unknown). An HVM record belongs to the current vCPU of its CPU (none: not counted). An exit
/// opens at <c>VMEXIT</c> and closes at the next <c>VMENTRY</c> of its vCPU or when the vCPU becomes runnable
/// (<c>hvm_close_vmexit</c>, which charges a HLT its blocked time); a VMEXIT while one is open drops the open one
/// (<c>exits_unclosed</c>). Its cycles are the TSC difference. Its handler is the first handler record inside it
/// (the interrupt-injection records of the entry path, <c>inj_virq</c>/<c>reinj_virq</c>/<c>intr_window</c>, are not
/// handlers); a VMCALL is named by its hypercall, a <c>pf_xen</c> by the shadow code's outcome record. A
/// <c>TRC_LOST_RECORDS</c> drops its CPU's open exit and current vCPU until the next runstate change names one.
/// </summary>
internal sealed class XenTraceModel(XenMeasurement m, IXenGuestSink? guest = null)
{
    private const int Running = 0;
    private const int Runnable = 1;

    private readonly Dictionary<int, XenVcpu?> _current = [];
    private readonly Dictionary<XenVcpu, VcpuState> _vcpus = [];
    private bool _sawTsc;

    public void Process(in XenRecord r)
    {
        m.Records++;
        if (r.HasTsc)
        {
            if (!_sawTsc)
            {
                m.FirstTsc = r.Tsc;
                _sawTsc = true;
            }

            m.LastTsc = Math.Max(m.LastTsc, r.Tsc);
        }

        switch (XenEvents.Class(r.Event))
        {
            case 0x0001:
                m.Count("records_gen");
                General(r);
                break;
            case 0x0002:
                m.Count("records_sched");
                if ((r.Event & 0xfffff000) == XenEvents.SchedMin && (r.Event & 0xf) is 1 or 2 && r.Extra >= 1)
                {
                    Runstate(r);
                }

                break;
            case 0x0008:
                m.Count("records_hvm");
                Hvm(r);
                break;
            case 0x0020:
                m.Count("records_pv");
                Pv(r);
                break;
            case 0x0040:
                m.Count("records_shadow");
                ShadowOutcome(r);
                break;
            default:
                m.Count("records_other");
                m.Count("unknown_events");
                break;
        }
    }

    private void General(in XenRecord r)
    {
        if (r.Event == XenEvents.LostRecords)
        {
            m.Count("lost_records", r.Word(0));
            m.Count("lost_record_events");
            if (_current.GetValueOrDefault(r.Cpu) is XenVcpu v && _vcpus.TryGetValue(v, out var s) && s.Open)
            {
                s.Open = false;
                m.Count("exits_lost");
            }

            _current[r.Cpu] = null;
        }
        else if (r.Event != XenEvents.WrapBuffer)
        {
            m.Count("unknown_events");
        }
    }

    // xenalyze sched_runstate_process: {vcpu:16, dom:16}; event low nibble 1 = change (old << 8 | new << 4), 2 = continue.
    private void Runstate(in XenRecord r)
    {
        var v = new XenVcpu((int)(r.Word(0) >> 16), (int)(r.Word(0) & 0xffff));
        bool change = (r.Event & 0xf) == 1;
        int next = change ? (int)((r.Event >> 4) & 0xf) : Running;
        int old = change ? (int)((r.Event >> 8) & 0xf) : Running;
        if (!_vcpus.TryGetValue(v, out var s))
        {
            // vcpu_start: a first record that leaves the vCPU running makes it current; any other leaves it unknown.
            if (old == Running)
            {
                _current[r.Cpu] = null;
            }

            if (next != Running)
            {
                return;
            }

            _vcpus[v] = new VcpuState { State = Running, Cpu = r.Cpu };
            _current[r.Cpu] = v;
            return;
        }

        if (next == Runnable && s.Open)
        {
            Close(v, s, r.Tsc);
        }

        if (!change)
        {
            s.State = Running;
        }
        else if (old == Running || s.State == Running)
        {
            _current[old == Running ? r.Cpu : s.Cpu] = null;
            s.State = next;
        }
        else if (next == Running)
        {
            _current[r.Cpu] = v;
            s.Cpu = r.Cpu;
            s.State = Running;
        }
        else
        {
            s.State = next;
        }
    }

    private void Hvm(in XenRecord r)
    {
        uint ev = r.Base;
        bool entryOrExit = ev is XenEvents.VmxExit or XenEvents.SvmExit or XenEvents.VmEntry;
        string? name = !entryOrExit && (ev & 0x0ffff000) == XenEvents.HvmHandler ? XenEvents.HandlerName(ev) : null;
        if (!entryOrExit && name is null)
        {
            m.Count("unknown_events"); // xenalyze: "Unknown hvm event"
            return;
        }

        if (_current.GetValueOrDefault(r.Cpu) is not XenVcpu v)
        {
            m.Count("hvm_records_without_vcpu");
            return;
        }

        var s = _vcpus[v];
        if (ev is XenEvents.VmxExit or XenEvents.SvmExit)
        {
            if (s.Open)
            {
                m.Count("exits_unclosed");
            }

            s.Open = true;
            s.ExitTsc = r.Tsc;
            s.Reason = ev == XenEvents.SvmExit ? VmxExitReasons.FromSvm(r.Word(0)) : (int)r.Word(0);
            s.Handler = null;
            s.Outcome = null;
            return;
        }

        if (ev == XenEvents.VmEntry)
        {
            if (s.Open)
            {
                Close(v, s, r.Tsc);
            }

            return;
        }

        string handler = name!; // a handler record: named above
        m.Count("hvm_" + handler);
        if (s.Open && s.Handler is null && ev is not (XenEvents.InjVirq or XenEvents.ReinjVirq or XenEvents.IntrWindow))
        {
            s.Handler = ev == XenEvents.Vmmcall ? XenEvents.HypercallName(r.Word(0)) : handler;
        }

        Guest(v, r);
    }

    // The handler records' layouts (xenalyze hvm_pf_xen_record, hvm_cr_write_process, hvm_npf_process): 64-bit
    // variants carry addresses as two words.
    private void Guest(XenVcpu v, in XenRecord r)
    {
        if (guest is null)
        {
            return;
        }

        switch (r.Base)
        {
            case XenEvents.PfXen:
                guest.ShadowFault(v, r.Is64 ? r.Word64(0) : r.Word(0), r.Word(r.Is64 ? 2 : 1));
                break;
            case XenEvents.CrWrite when r.Word(0) == 3:
                guest.Cr3(v, r.Is64 ? r.Word64(1) : r.Word(1));
                break;
            case XenEvents.Invlpg:
                guest.Invlpg(v, r.Is64 ? r.Word64(1) : r.Word(1));
                break;
            case XenEvents.Npf:
                guest.EptViolation(v, r.Word64(0), r.Word(4));
                break;
        }
    }

    // TRC_PV_PTWR_EMULATION(_PAE): {pte u64, addr, eip} with 32- or 64-bit addr (xenalyze pv_ptwr_emulation_process).
    private void Pv(in XenRecord r)
    {
        uint ev = r.Base;
        if (ev is XenEvents.PtwrEmulation or XenEvents.PtwrEmulationPae)
        {
            m.Count("ptwr_emulation");
            if (guest is not null && _current.GetValueOrDefault(r.Cpu) is XenVcpu v)
            {
                guest.PtwrEmulation(v, r.Is64 ? r.Word64(2) : r.Word(2), r.Word64(0));
            }
        }
    }

    private void ShadowOutcome(in XenRecord r)
    {
        string? outcome = XenEvents.ShadowOutcome(r.Event);
        if (outcome is null)
        {
            m.Count("unknown_events");
            return;
        }

        m.Count("shadow_" + outcome);
        if (_current.GetValueOrDefault(r.Cpu) is XenVcpu v && _vcpus[v] is { Open: true, Outcome: null } s)
        {
            s.Outcome = outcome;
        }
    }

    private void Close(XenVcpu v, VcpuState s, ulong tsc)
    {
        s.Open = false;
        if (s.ExitTsc > tsc)
        {
            m.Count("exits_negative_time"); // xenalyze hvm_close_vmexit: arc_cycles 0, not counted
            return;
        }

        string handler = s.Handler ?? "(no handler)";
        if (handler == "pf_xen" && s.Outcome is not null)
        {
            handler = "pf_xen:" + s.Outcome;
        }

        m.AddExit(v, new XenExitKind(s.Reason, handler), s.ExitTsc, tsc - s.ExitTsc);
    }

    private sealed class VcpuState
    {
        public int State { get; set; }

        public int Cpu { get; set; }

        public bool Open { get; set; }

        public ulong ExitTsc { get; set; }

        public int Reason { get; set; }

        public string? Handler { get; set; }

        public string? Outcome { get; set; }
    }
}
