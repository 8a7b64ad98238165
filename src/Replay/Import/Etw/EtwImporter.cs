using System.Globalization;
using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Import.Etw;

/// <summary>
/// Imports a Windows kernel ETW trace (<c>.etl</c>, <c>.etl.zip</c> or TraceEvent's <c>.etlx</c>) onto the guest kernel
/// model. Each distinct DirectoryTableBase of a Process/Start or DCStart event is one address space whose root is that
/// real frame (processes sharing one, like Idle and System, share the space); Process/Stop tears it down when its last
/// process stops. Thread/Start and DCStart map threads to processes; Thread/CSwitch makes the new thread's address space
/// current on vCPU (recorded processor mod vCPUs). Each page fault of a user address is an access on the processor's
/// vCPU by the faulting thread's process, which the model demand-pages: CopyOnWrite is a write, a fault at its own
/// program counter a fetch, a HardFault inside an image (Image/Load, DCStart) a fetch, the others reads. Faults at kernel
/// addresses, of unknown threads or of processes with no address space are counted as ignored. Image and VirtualAlloc
/// regions are tracked per process only to classify faults. A <c>mark</c> with id i+1 starts address space i.
/// </summary>
public sealed class EtwImporter
{
    private readonly ImportOptions _options;
    private readonly List<EtlEvent> _events;
    private readonly List<(ulong Dtb, int Pid, string Name)> _spaces = [];

    /// <summary>Reads <paramref name="path"/> (all of it: the decoded kernel events are kept in memory).</summary>
    public EtwImporter(string path, ImportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Path = path;
        if (EtlxSource.Handles(path))
        {
            (PointerSize, _events) = EtlxSource.Read(path);
        }
        else
        {
            var r = EtlReader.Read(path, options.SkipBad);
            PointerSize = r.Header.PointerSize;
            Processors = r.Header.NumberOfProcessors;
            _events = r.Events;
            BadBuffers = r.BadRecords;
        }

        FixedRoots = PlanSpaces();
    }

    /// <summary>The input file.</summary>
    public string Path { get; }

    /// <summary>Pointer size of the recorded machine (4 or 8).</summary>
    public int PointerSize { get; }

    /// <summary>Processors of the recorded machine (0 when the source does not say).</summary>
    public int Processors { get; }

    /// <summary>Buffers or events of the file skipped as unreadable (<c>--skip-bad</c>).</summary>
    public long BadBuffers { get; }

    /// <summary>The kernel events read, in delivery order.</summary>
    public IReadOnlyList<EtlEvent> Events => _events;

    /// <summary>Root frames of the address spaces (page-aligned DirectoryTableBase values, shifted): the guest must keep them for roots.</summary>
    public IReadOnlyList<ulong> FixedRoots { get; }

    /// <summary>Guest memory the roots need: the highest root frame's end, rounded up to a GiB.</summary>
    public ulong MemoryNeeded => FixedRoots.Count == 0 ? 0 : (((FixedRoots.Max() + 1) << Pte.PageShift) + (1UL << Pte.HugePageShift) - 1) & ~((1UL << Pte.HugePageShift) - 1);

    /// <summary>Marker id → label: address space i (0-based, in order of creation) starts at marker i+1.</summary>
    public IReadOnlyDictionary<ulong, string> Markers => _spaces
        .Select((s, i) => (Id: (ulong)i + 1, Label: string.Create(CultureInfo.InvariantCulture, $"pid {s.Pid} {s.Name} DirectoryTableBase 0x{s.Dtb:x}")))
        .ToDictionary(m => m.Id, m => m.Label);

    /// <summary>Replays the events onto <paramref name="host"/>.</summary>
    public ImportStats Run(IProcessHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var run = new EtwRun(this, host, _options);
        _options.Progress?.Start(System.IO.Path.GetFileName(Path), _events.Count, "events"); // read whole already: the events are what is left
        foreach (var e in _events)
        {
            if (!run.Apply(e))
            {
                break;
            }

            _options.Progress?.Advance(1);
        }

        var stats = run.Stats;
        stats.BadRecords += BadBuffers;
        stats.Events = host.Events;
        if (stats.Records == 0)
        {
            throw new ImportFormatException(
                $"{Path}: nothing to import: {stats.Processes} address spaces, no page fault at a user address of a known process ({stats.Ignored} faults ignored).");
        }

        return stats;
    }

    /// <summary>Decodes a Process event, or null after counting it as bad (<c>--skip-bad</c>).</summary>
    internal ProcessTraceData? TryProcess(EtlEvent e, ImportStats? stats)
    {
        try
        {
            return EtwPayloads.Process(e, PointerSize);
        }
        catch (ImportFormatException) when (_options.SkipBad)
        {
            if (stats is not null)
            {
                stats.BadRecords++;
            }

            return null;
        }
    }

    /// <summary>The address spaces in creation order, as the run will create them (for the markers and the fixed roots).</summary>
    private List<ulong> PlanSpaces()
    {
        var live = new Dictionary<ulong, int>();
        var pidDtb = new Dictionary<int, ulong>();
        var roots = new SortedSet<ulong>();
        foreach (var e in _events.Where(e => e.Group == EtwKernel.GroupProcess))
        {
            if (TryProcess(e, null) is not { } p)
            {
                continue;
            }

            if (e.Opcode is EtwKernel.Start or EtwKernel.DCStart && !pidDtb.ContainsKey(p.ProcessID))
            {
                pidDtb[p.ProcessID] = p.DirectoryTableBase;
                if (live.TryGetValue(p.DirectoryTableBase, out int n))
                {
                    live[p.DirectoryTableBase] = n + 1;
                    continue;
                }

                live[p.DirectoryTableBase] = 1;
                _spaces.Add((p.DirectoryTableBase, p.ProcessID, p.ImageFileName));
                if (IsRoot(p.DirectoryTableBase))
                {
                    roots.Add(p.DirectoryTableBase >> Pte.PageShift);
                }
            }
            else if (e.Opcode == EtwKernel.Stop && pidDtb.Remove(p.ProcessID, out ulong dtb) && --live[dtb] == 0)
            {
                live.Remove(dtb);
            }
        }

        return [.. roots];
    }

    /// <summary>A DirectoryTableBase usable as a root frame: non-zero and page-aligned (a PAE PDPT address is not).</summary>
    internal static bool IsRoot(ulong dtb) => dtb != 0 && (dtb & Pte.PageOffsetMask) == 0;

    internal static TraceOp FaultKind(byte opcode, ulong va, ulong pc, bool inImage) => opcode switch
    {
        EtwKernel.CopyOnWrite => TraceOp.Write,
        EtwKernel.HardFault => inImage ? TraceOp.Fetch : TraceOp.Read,
        _ => va == pc ? TraceOp.Fetch : TraceOp.Read,
    };
}
