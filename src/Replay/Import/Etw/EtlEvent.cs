namespace Replay.Import.Etw;

/// <summary>
/// One classic kernel event read from an ETL buffer (a SYSTEM_TRACE_HEADER, its compact form, or a
/// PERFINFO_TRACE_HEADER), with the fields TraceEvent's <c>TraceEvent</c> base class exposes: the hook's group
/// (TraceEvent's task, e.g. <see cref="EtwKernel.GroupProcess"/>) and type (its opcode), the event version, the header's
/// thread and process (−1 when the header has none: PERFINFO events), the processor from the buffer's context, the QPC
/// timestamp and the payload (TraceEvent's <c>EventData()</c>).
/// </summary>
/// <param name="Where">Where the event is, for errors: <c>FILE: buffer at byte B, event at payload byte P</c>.</param>
public sealed record EtlEvent(byte Group, byte Opcode, int Version, int ThreadId, int ProcessId, int Processor, long TimeStamp, byte[] Payload, string Where)
{
    /// <summary>The hook id, group &lt;&lt; 8 | type (<c>WMI_TRACE_PACKET.HookId</c>).</summary>
    public int HookId => (Group << 8) | Opcode;
}

/// <summary>The parts of the ETL file's TRACE_LOGFILE_HEADER (the first event, TraceEvent's <c>EventTrace</c> header) the importer uses.</summary>
/// <param name="PointerSize">4 or 8: the recorded machine's pointer size, so the width of every address in the payloads.</param>
/// <param name="NumberOfProcessors">Processors of the recorded machine.</param>
/// <param name="BufferSize">Bytes of a buffer before compression.</param>
/// <param name="LogFileMode">EVENT_TRACE_* mode bits (0x04000000 = compressed buffers).</param>
/// <param name="BuffersWritten">Buffers the logger wrote.</param>
/// <param name="PerfFreq">Ticks per second of the event timestamps (QPC).</param>
/// <param name="StartTimeQpc">Timestamp of the header event.</param>
public sealed record EtlHeader(int PointerSize, int NumberOfProcessors, int BufferSize, uint LogFileMode, int BuffersWritten, long PerfFreq, long StartTimeQpc);
