using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Import.Etw;

/// <summary>The state of one import: threads, processes, address spaces, regions and each processor's current thread.</summary>
internal sealed class EtwRun(EtwImporter importer, IProcessHost host, ImportOptions options)
{
    private readonly Dictionary<int, int> _threadPid = new();
    private readonly Dictionary<int, Space> _pidSpace = new();
    private readonly Dictionary<ulong, Space> _liveByDtb = new();
    private readonly Dictionary<int, int> _cpuThread = new();
    private readonly Dictionary<int, List<(ulong Start, ulong End, bool Image)>> _regions = new();
    private readonly HashSet<int> _threadsSeen = [];
    private readonly long _limit = options.Limit ?? long.MaxValue;
    private int _spaces;

    public ImportStats Stats { get; } = new();

    /// <summary>Applies one event; false once the access limit is reached.</summary>
    public bool Apply(EtlEvent e)
    {
        try
        {
            return Dispatch(e);
        }
        catch (ImportFormatException) when (options.SkipBad)
        {
            Stats.BadRecords++;
            return true;
        }
    }

    private bool Dispatch(EtlEvent e)
    {
        int ptr = importer.PointerSize;
        switch (e.Group)
        {
            case EtwKernel.GroupProcess:
                if (importer.TryProcess(e, Stats) is { } p)
                {
                    Process(e.Opcode, p);
                }

                return true;
            case EtwKernel.GroupThread when e.Opcode == EtwKernel.CSwitch:
                var cs = EtwPayloads.CSwitch(e);
                _cpuThread[e.Processor] = cs.NewThreadID;
                if (_threadPid.TryGetValue(cs.NewThreadID, out int pid) && _pidSpace.TryGetValue(pid, out var sw))
                {
                    host.Run(Vcpu(e), sw.Id);
                }

                return true;
            case EtwKernel.GroupThread:
                var t = EtwPayloads.Thread(e, ptr);
                if (e.Opcode is EtwKernel.Start or EtwKernel.DCStart)
                {
                    _threadPid[t.ThreadID] = t.ProcessID;
                    if (_threadsSeen.Add(t.ThreadID))
                    {
                        Stats.Threads++;
                    }

                    // Creating a thread (PspCreateThread) writes its TEB and the first frame of its user stack, in its process.
                    if (e.Opcode == EtwKernel.Start && (Initialise(e, t.ProcessID, t.TebBase) is false || Initialise(e, t.ProcessID, t.UserStackBase - 8) is false))
                    {
                        return false;
                    }
                }
                else if (e.Opcode == EtwKernel.Stop)
                {
                    _threadPid.Remove(t.ThreadID);
                }

                return true;
            case EtwKernel.GroupImage:
                var img = EtwPayloads.Image(e, ptr);
                Region(e.Opcode is EtwKernel.ImageLoad or EtwKernel.DCStart, img.ProcessID, img.ImageBase, img.ImageSize, image: true);

                // Mapping an image (MiMapViewOfImageSection) reads its PE headers at the base, in the loading process.
                return e.Opcode != EtwKernel.ImageLoad || img.ImageBase == 0 || Fault(e, img.ProcessID, TraceOp.Read, img.ImageBase);
            case EtwKernel.GroupMemory when e.Opcode is EtwKernel.VirtualAlloc or EtwKernel.VirtualFree:
                var va = EtwPayloads.VirtualAlloc(e, ptr);
                Region(e.Opcode == EtwKernel.VirtualAlloc, va.ProcessID, va.BaseAddr, va.Length, image: false);
                return true;
            case EtwKernel.GroupMemory when e.Opcode == EtwKernel.HardFault:
                var hf = EtwPayloads.HardFault(e, ptr);
                int hpid = _threadPid.TryGetValue(hf.ThreadID, out int x) ? x : e.ProcessId;
                return Fault(e, hpid, EtwImporter.FaultKind(e.Opcode, hf.VirtualAddress, 0, InImage(hpid, hf.VirtualAddress)), hf.VirtualAddress);
            default:
                var pf = EtwPayloads.PageFault(e, ptr);
                int tid = e.ThreadId >= 0 ? e.ThreadId : _cpuThread.GetValueOrDefault(e.Processor, -1);
                int fpid = e.ProcessId >= 0 ? e.ProcessId : _threadPid.GetValueOrDefault(tid, -1);
                return Fault(e, fpid, EtwImporter.FaultKind(e.Opcode, pf.VirtualAddress, pf.ProgramCounter, false), pf.VirtualAddress);
        }
    }

    private void Process(byte opcode, ProcessTraceData p)
    {
        if (opcode is EtwKernel.Start or EtwKernel.DCStart)
        {
            if (_pidSpace.ContainsKey(p.ProcessID))
            {
                return; // a rundown of a process already started
            }

            if (!_liveByDtb.TryGetValue(p.DirectoryTableBase, out var s))
            {
                int id = EtwImporter.IsRoot(p.DirectoryTableBase) ? host.CreateProcessWithRoot(p.DirectoryTableBase >> Pte.PageShift) : host.CreateProcess();
                s = new Space(id);
                _liveByDtb[p.DirectoryTableBase] = s;
                Stats.Processes++;
                host.Mark((ulong)++_spaces);
            }

            s.Users++;
            _pidSpace[p.ProcessID] = s;
        }
        else if (opcode == EtwKernel.Stop && _pidSpace.Remove(p.ProcessID, out var s) && --s.Users == 0)
        {
            host.Exit(s.Id);
            _liveByDtb.Remove(p.DirectoryTableBase);
            _regions.Remove(p.ProcessID);
        }
    }

    private bool Fault(EtlEvent e, int pid, TraceOp kind, ulong va)
    {
        if (!UserSpace.Contains(va, 1) || !_pidSpace.TryGetValue(pid, out var s))
        {
            Stats.Ignored++;
            return true;
        }

        if (Stats.Records >= _limit)
        {
            return false;
        }

        int vcpu = Vcpu(e);
        host.Run(vcpu, s.Id);
        host.Access(vcpu, kind, va, 1);
        Stats.Count(kind);

        return true;
    }

    /// <summary>A store the kernel makes when it creates a thread; nothing when the address is absent (0, or below 8 for the stack).</summary>
    private bool Initialise(EtlEvent e, int pid, ulong va) => va is 0 or > ulong.MaxValue - 8 || Fault(e, pid, TraceOp.Write, va);

    private void Region(bool add, int pid, ulong start, ulong length, bool image)
    {
        if (!_regions.TryGetValue(pid, out var list))
        {
            _regions[pid] = list = [];
        }

        if (add)
        {
            list.Add((start, start + length, image));
        }
        else
        {
            list.RemoveAll(r => r.Start == start && r.Image == image);
        }
    }

    private bool InImage(int pid, ulong va) =>
        _regions.TryGetValue(pid, out var list) && list.Exists(r => r.Image && va >= r.Start && va < r.End);

    private int Vcpu(EtlEvent e) => e.Processor % host.Vcpus;

    private sealed class Space(int id)
    {
        public int Id { get; } = id;

        public int Users { get; set; }
    }
}
