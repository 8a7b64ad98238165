using System.Buffers.Binary;
using System.Globalization;
using Replay.Engines.Trace;

namespace Replay.Import;

/// <summary>
/// Imports DynamoRIO drmemtrace offline traces: a folder of per-thread <c>*.zip</c> files (or one such zip).
/// Threads with the same PID are one process (one address space). Threads interleave by their timestamp
/// markers: the thread whose next segment has the smallest timestamp runs that segment, up to its next
/// timestamp marker (ties: the earlier file). A segment runs on vCPU (recorded CPU id mod vCPUs).
/// <c>cpu_schedule.bin.zip</c> is not read: it lists the same (thread, timestamp, CPU) switch points that the
/// markers in the thread files give. A <c>mark</c> with id i+1 starts thread file i's first segment.
/// Record types are mapped as <see cref="DrMemTraceTypes"/> documents.
/// </summary>
public sealed class DrMemTraceImporter : IDisposable
{
    /// <summary>DynamoRIO's per-CPU schedule file, skipped when a folder is imported.</summary>
    public const string ScheduleFile = "cpu_schedule.bin.zip";

    private readonly List<DrMemTraceThread> _threads = [];
    private readonly ImportOptions _options;
    private readonly string _input;
    private long _limit;

    /// <summary>Opens every thread file of <paramref name="dirOrZip"/> and reads each one's opening metadata.</summary>
    public DrMemTraceImporter(string dirOrZip, ImportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _input = dirOrZip;
        try
        {
            var files = ThreadFiles(dirOrZip);
            options.Progress?.Start(Path.GetFileName(Path.TrimEndingDirectorySeparator(dirOrZip)), ImportProgress.SizeOf(files));
            foreach (string f in files)
            {
                var t = new DrMemTraceThread(new DrMemTraceFile(f, options.Progress), _threads.Count);
                _threads.Add(t);
                t.Prime();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Marker id → label: thread file i (0-based) starts at marker i+1, labelled with its tid and file name.</summary>
    public IReadOnlyDictionary<ulong, string> Markers => _threads.ToDictionary(
        t => (ulong)t.Index + 1,
        t => string.Create(CultureInfo.InvariantCulture, $"tid {t.Tid} ({Path.GetFileName(t.File.Path)})"));

    /// <summary>The thread files: <paramref name="dirOrZip"/> itself, or the folder's <c>*.zip</c> files but the schedule, in ordinal name order.</summary>
    public static IReadOnlyList<string> ThreadFiles(string dirOrZip)
    {
        if (!Directory.Exists(dirOrZip))
        {
            return File.Exists(dirOrZip) ? [dirOrZip] : throw new FileNotFoundException(null, dirOrZip);
        }

        var files = Directory.GetFiles(dirOrZip, "*.zip")
            .Where(f => !Path.GetFileName(f).Equals(ScheduleFile, StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        return files.Count > 0 ? files : throw new ImportFormatException($"{dirOrZip}: no drmemtrace thread files (*.zip) in it.");
    }

    /// <summary>Interleaves the threads to their ends (or the limit) and drives <paramref name="host"/>.</summary>
    public ImportStats Run(IProcessHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var stats = new ImportStats { Threads = _threads.Count };
        _limit = _options.Limit ?? long.MaxValue;
        var process = new Dictionary<ulong, int>();
        var live = new Dictionary<ulong, int>();
        foreach (var t in _threads)
        {
            ulong key = ProcessKey(t);
            if (!process.ContainsKey(key))
            {
                process[key] = host.CreateProcess();
                stats.Processes++;
            }

            live[key] = live.GetValueOrDefault(key) + (t.Ended ? 0 : 1);
        }

        var queue = new PriorityQueue<DrMemTraceThread, (ulong, int)>();
        foreach (var t in _threads.Where(t => !t.Ended))
        {
            queue.Enqueue(t, (t.Timestamp, t.Index));
        }

        while (stats.Records < _limit && queue.TryDequeue(out var t, out _))
        {
            ulong key = ProcessKey(t);
            if (RunSegment(host, t, process[key], stats))
            {
                queue.Enqueue(t, (t.Timestamp, t.Index));
            }
            else if (t.Ended && --live[key] == 0)
            {
                host.Exit(process[key]);
            }
        }

        stats.RequireRecords(_input);
        stats.Events = host.Events;
        return stats;
    }

    public void Dispose() => _threads.ForEach(t => t.Dispose());

    private static ulong ProcessKey(DrMemTraceThread t) => t.Pid != 0 ? t.Pid : ~(ulong)t.Index;

    /// <summary>Runs <paramref name="t"/> up to its next timestamp marker (true) or its end or the limit (false).</summary>
    /// <remarks>
    /// Every instruction record is one fetch, except a bundle, one fetch for its <c>size</c> instructions, and a no-fetch
    /// instruction, none; the instructions without a fetch event of their own (and those of fetches skipped as bad)
    /// are retired on the thread's vCPU, so they ride as <c>insns</c> on its next event and the trace's
    /// instructions count every instruction of the input.
    /// </remarks>
    private bool RunSegment(IProcessHost host, DrMemTraceThread t, int process, ImportStats stats)
    {
        int vcpu = -1;
        while (true)
        {
            if (!t.TryRead(out DrRecord r))
            {
                t.Ended = true;
                return false;
            }

            DrRecordClass c = DrMemTraceTypes.Classify(r.Type);
            switch (c)
            {
                case DrRecordClass.Load or DrRecordClass.Store or DrRecordClass.Fetch or DrRecordClass.Bundle:
                    if (stats.Records >= _limit)
                    {
                        return false;
                    }

                    (ulong va, int size) = Extent(t, c, r);
                    int instructions = c == DrRecordClass.Bundle ? Math.Min((int)r.Size, 8) : c == DrRecordClass.Fetch ? 1 : 0;
                    if (!UserSpace.Contains(va, size))
                    {
                        Bad(t, stats, $"address 0x{va:x} ({size} bytes) is outside the user address range (below 0x{UserSpace.Top:x})");
                        if (instructions > 0)
                        {
                            vcpu = Enter(host, t, process, vcpu);
                            Retire(host, vcpu, instructions, stats);
                        }

                        break;
                    }

                    vcpu = Enter(host, t, process, vcpu);
                    Access(host, vcpu, c, va, size, stats);
                    if (instructions > 1)
                    {
                        Retire(host, vcpu, instructions - 1, stats); // the bundle's instructions after the one its fetch stands for
                    }

                    break;
                case DrRecordClass.NoFetch:
                    if (stats.Records >= _limit)
                    {
                        return false; // the limit ends the input at its last access record, so nothing after it counts
                    }

                    stats.Ignored++;
                    vcpu = Enter(host, t, process, vcpu);
                    Retire(host, vcpu, 1, stats);
                    break;
                case DrRecordClass.Marker when r.Size == DrMemTraceTypes.MarkerTimestamp:
                    t.Timestamp = r.Addr;
                    return true;
                case DrRecordClass.Marker when r.Size == DrMemTraceTypes.MarkerCpuId:
                    t.Cpu = r.Addr;
                    vcpu = -1; // the next access runs on the new CPU's vCPU
                    break;
                case DrRecordClass.ThreadExit:
                    t.Ended = true;
                    return false;
                case DrRecordClass.Ignored:
                    stats.Ignored++;
                    break;
                case DrRecordClass.Unknown:
                    Bad(t, stats, $"unknown record type {r.Type}");
                    break;
                default:
                    break; // metadata and other markers
            }
        }
    }

    /// <summary>
    /// The vCPU the thread runs on in this stretch: <paramref name="vcpu"/> once chosen; otherwise its recorded CPU's
    /// vCPU, with the thread's process made current there (and its first segment marked).
    /// </summary>
    private static int Enter(IProcessHost host, DrMemTraceThread t, int process, int vcpu)
    {
        if (vcpu >= 0)
        {
            return vcpu;
        }

        if (!t.Started)
        {
            host.Mark((ulong)t.Index + 1);
            t.Started = true;
        }

        vcpu = (int)((t.Cpu & 0xFFF) % (ulong)host.Vcpus);
        host.Run(vcpu, process);
        return vcpu;
    }

    private static void Retire(IProcessHost host, int vcpu, int instructions, ImportStats stats)
    {
        host.Retire(vcpu, instructions);
        stats.Insns += instructions;
    }

    /// <summary>The bytes a fetch, load or store touches; a bundle continues after the previous instruction, its lengths in the addr bytes.</summary>
    private static (ulong Va, int Size) Extent(DrMemTraceThread t, DrRecordClass c, DrRecord r)
    {
        if (c == DrRecordClass.Bundle)
        {
            Span<byte> lengths = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(lengths, r.Addr);
            int total = 0;
            foreach (byte len in lengths[..Math.Min((int)r.Size, 8)])
            {
                total += len;
            }

            ulong start = t.PcEnd;
            t.PcEnd += (ulong)total;
            return (start, Math.Max(total, 1));
        }

        int size = Math.Max((int)r.Size, 1);
        if (c == DrRecordClass.Fetch)
        {
            t.PcEnd = r.Addr + (ulong)size;
        }

        return (r.Addr, size);
    }

    private static void Access(IProcessHost host, int vcpu, DrRecordClass c, ulong va, int size, ImportStats stats)
    {
        switch (c)
        {
            case DrRecordClass.Load:
                host.Access(vcpu, TraceOp.Read, va, size);
                stats.Loads++;
                break;
            case DrRecordClass.Store:
                host.Access(vcpu, TraceOp.Write, va, size);
                stats.Stores++;
                break;
            default:
                host.Access(vcpu, TraceOp.Fetch, va, size);
                stats.Fetches++;
                break;
        }
    }

    private void Bad(DrMemTraceThread t, ImportStats stats, string problem)
    {
        if (!_options.SkipBad)
        {
            throw new ImportFormatException($"{t.File.Where}: {problem}.");
        }

        stats.BadRecords++;
    }
}
