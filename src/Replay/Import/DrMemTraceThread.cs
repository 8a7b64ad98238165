namespace Replay.Import;

/// <summary>The import state of one drmemtrace thread: its file, identity and where it stands in the interleave.</summary>
internal sealed class DrMemTraceThread(DrMemTraceFile file, int index) : IDisposable
{
    public DrMemTraceFile File { get; } = file;

    /// <summary>Position among the input files (ties between equal timestamps go to the lower index).</summary>
    public int Index { get; } = index;

    public ulong Tid { get; set; }

    public ulong Pid { get; set; }

    /// <summary>The timestamp at which the thread's next segment starts.</summary>
    public ulong Timestamp { get; set; }

    /// <summary>The CPU the last cpu-id marker named.</summary>
    public ulong Cpu { get; set; }

    /// <summary>A record read ahead while priming, handed out before the file's next one.</summary>
    public DrRecord? Held { get; set; }

    /// <summary>One past the last byte of the last instruction fetched (where an INSTR_BUNDLE continues).</summary>
    public ulong PcEnd { get; set; }

    public bool Started { get; set; }

    public bool Ended { get; set; }

    public bool TryRead(out DrRecord record)
    {
        if (Held is { } held)
        {
            Held = null;
            record = held;
            return true;
        }

        return File.TryRead(out record);
    }

    /// <summary>Reads the thread's opening metadata (tid, pid, cpu) up to its first timestamp or first access.</summary>
    public void Prime()
    {
        while (File.TryRead(out DrRecord r))
        {
            switch (DrMemTraceTypes.Classify(r.Type))
            {
                case DrRecordClass.Marker when r.Size == DrMemTraceTypes.MarkerTimestamp:
                    Timestamp = r.Addr;
                    return;
                case DrRecordClass.Marker when r.Size == DrMemTraceTypes.MarkerCpuId:
                    Cpu = r.Addr;
                    break;
                case DrRecordClass.Metadata when r.Type == DrMemTraceTypes.Thread:
                    Tid = r.Addr;
                    break;
                case DrRecordClass.Metadata when r.Type == DrMemTraceTypes.Pid:
                    Pid = r.Addr;
                    break;
                case DrRecordClass.Metadata or DrRecordClass.Marker or DrRecordClass.Ignored:
                    break;
                case DrRecordClass.ThreadExit:
                    Ended = true;
                    return;
                default:
                    Held = r; // an access, an instruction (or a bad record) before any timestamp: it starts at time 0
                    return;
            }
        }

        Ended = true;
    }

    public void Dispose() => File.Dispose();
}
