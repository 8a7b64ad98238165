using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers;
using TE = Microsoft.Diagnostics.Tracing.Parsers.Kernel;

namespace Replay.Import.Etw;

/// <summary>
/// Reads kernel events through TraceEvent itself wherever it can: <c>.etlx</c> (TraceEvent's own format) on every
/// platform through <see cref="TraceLog"/>, and <c>.etl</c> on Windows through <see cref="ETWTraceEventSource"/>
/// (advapi32). Each event TraceEvent's <see cref="KernelTraceEventParser"/> decodes is handed on as an
/// <see cref="EtlEvent"/> with its raw payload (<c>EventData()</c>), so both readers feed the same decoding
/// (<see cref="EtwPayloads"/>) and the same import.
/// </summary>
public static class EtlxSource
{
    /// <summary>True when TraceEvent reads <paramref name="path"/> here: an <c>.etlx</c>, or an <c>.etl</c> on Windows.</summary>
    public static bool Handles(string path) =>
        path.EndsWith(".etlx", StringComparison.OrdinalIgnoreCase)
        || (OperatingSystem.IsWindows() && path.EndsWith(".etl", StringComparison.OrdinalIgnoreCase));

    /// <summary>The mapped kernel events of <paramref name="path"/> in TraceEvent's order, and the pointer size.</summary>
    public static (int PointerSize, List<EtlEvent> Events) Read(string path)
    {
        var events = new List<EtlEvent>();
        int pointer = 8;
        try
        {
            if (path.EndsWith(".etlx", StringComparison.OrdinalIgnoreCase))
            {
                using var log = new TraceLog(path);
                pointer = log.PointerSize;
                using var source = log.Events.GetSource();
                Subscribe(source.Kernel, events, path);
                source.Process();
            }
            else
            {
                using var source = new ETWTraceEventSource(path);
                pointer = source.PointerSize;
                Subscribe(source.Kernel, events, path);
                source.Process();
            }
        }
        catch (Exception e) when (e is not ImportFormatException and not FileNotFoundException and not OutOfMemoryException)
        {
            throw new ImportFormatException($"{path}: byte 0: TraceEvent cannot read it ({e.Message.TrimEnd('.')}).", e);
        }

        return (pointer, events);
    }

    private static void Subscribe(KernelTraceEventParser k, List<EtlEvent> events, string path)
    {
        void Add(TraceEvent d, byte group, byte opcode) => events.Add(new EtlEvent(
            group, opcode, d.Version, d.ThreadID, d.ProcessID, d.ProcessorNumber, (long)(d.TimeStampRelativeMSec * 10_000), d.EventData(),
            $"{path}: event {events.Count} ({d.EventName})"));

        k.ProcessStart += (TE.ProcessTraceData d) => Add(d, EtwKernel.GroupProcess, EtwKernel.Start);
        k.ProcessStop += (TE.ProcessTraceData d) => Add(d, EtwKernel.GroupProcess, EtwKernel.Stop);
        k.ProcessDCStart += (TE.ProcessTraceData d) => Add(d, EtwKernel.GroupProcess, EtwKernel.DCStart);
        k.ProcessDCStop += (TE.ProcessTraceData d) => Add(d, EtwKernel.GroupProcess, EtwKernel.DCStop);
        k.ThreadStart += (TE.ThreadTraceData d) => Add(d, EtwKernel.GroupThread, EtwKernel.Start);
        k.ThreadStop += (TE.ThreadTraceData d) => Add(d, EtwKernel.GroupThread, EtwKernel.Stop);
        k.ThreadDCStart += (TE.ThreadTraceData d) => Add(d, EtwKernel.GroupThread, EtwKernel.DCStart);
        k.ThreadCSwitch += (TE.CSwitchTraceData d) => Add(d, EtwKernel.GroupThread, EtwKernel.CSwitch);
        k.ImageLoad += (TE.ImageLoadTraceData d) => Add(d, EtwKernel.GroupImage, EtwKernel.ImageLoad);
        k.ImageUnload += (TE.ImageLoadTraceData d) => Add(d, EtwKernel.GroupImage, EtwKernel.Stop);
        k.ImageDCStart += (TE.ImageLoadTraceData d) => Add(d, EtwKernel.GroupImage, EtwKernel.DCStart);
        k.MemoryTransitionFault += (TE.MemoryPageFaultTraceData d) => Add(d, EtwKernel.GroupMemory, EtwKernel.TransitionFault);
        k.MemoryDemandZeroFault += (TE.MemoryPageFaultTraceData d) => Add(d, EtwKernel.GroupMemory, EtwKernel.DemandZeroFault);
        k.MemoryCopyOnWrite += (TE.MemoryPageFaultTraceData d) => Add(d, EtwKernel.GroupMemory, EtwKernel.CopyOnWrite);
        k.MemoryGuardMemory += (TE.MemoryPageFaultTraceData d) => Add(d, EtwKernel.GroupMemory, EtwKernel.GuardMemory);
        k.MemoryHardMemory += (TE.MemoryPageFaultTraceData d) => Add(d, EtwKernel.GroupMemory, EtwKernel.HardMemory);
        k.MemoryHardFault += (TE.MemoryHardFaultTraceData d) => Add(d, EtwKernel.GroupMemory, EtwKernel.HardFault);
        k.VirtualMemAlloc += (TE.VirtualAllocTraceData d) => Add(d, EtwKernel.GroupMemory, EtwKernel.VirtualAlloc);
        k.VirtualMemFree += (TE.VirtualAllocTraceData d) => Add(d, EtwKernel.GroupMemory, EtwKernel.VirtualFree);
    }
}
