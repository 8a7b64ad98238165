using System.Buffers.Binary;
using System.Text;

namespace Replay.Import.Etw;

/// <summary>Process/Start, Stop, DCStart, DCStop, Defunct (TraceEvent's <c>ProcessTraceData</c>, versions 3 and later).</summary>
public readonly record struct ProcessTraceData(ulong UniqueProcessKey, int ProcessID, int ParentID, int SessionID, int ExitStatus, ulong DirectoryTableBase, string ImageFileName);

/// <summary>Thread/Start, Stop, DCStart, DCStop (TraceEvent's <c>ThreadTraceData</c>: ProcessID, the thread's id, then version 2's stacks and TEB; 0 when absent).</summary>
public readonly record struct ThreadTraceData(int ProcessID, int ThreadID, ulong UserStackBase, ulong TebBase);

/// <summary>Thread/CSwitch (TraceEvent's <c>CSwitchTraceData</c>: NewThreadID, OldThreadID).</summary>
public readonly record struct CSwitchTraceData(int NewThreadID, int OldThreadID);

/// <summary>Memory/TransitionFault … AccessViolation (TraceEvent's <c>MemoryPageFaultTraceData</c>).</summary>
public readonly record struct MemoryPageFaultTraceData(ulong VirtualAddress, ulong ProgramCounter);

/// <summary>Memory/HardFault (TraceEvent's <c>MemoryHardFaultTraceData</c>; the faulting thread is in the payload).</summary>
public readonly record struct MemoryHardFaultTraceData(long InitialTime, long ReadOffset, ulong VirtualAddress, ulong FileKey, int ThreadID, int ByteCount);

/// <summary>Image/Load, Unload, DCStart, DCStop (TraceEvent's <c>ImageLoadTraceData</c>).</summary>
public readonly record struct ImageLoadTraceData(ulong ImageBase, ulong ImageSize, int ProcessID);

/// <summary>Memory/VirtualAlloc and VirtualFree (TraceEvent's <c>VirtualAllocTraceData</c>).</summary>
public readonly record struct VirtualAllocTraceData(ulong BaseAddr, ulong Length, int ProcessID, uint Flags);

/// <summary>
/// Decodes payloads at the offsets TraceEvent's KernelTraceEventParser reads (its <c>HostOffset(x, n)</c> is
/// x + n·(pointer − 4)); each throws <see cref="ImportFormatException"/> naming the event when the payload is too short.
/// </summary>
public static class EtwPayloads
{
    public static ProcessTraceData Process(EtlEvent e, int ptr)
    {
        if (e.Version < 3)
        {
            throw Bad(e, $"version {e.Version} (before Windows 7) has no DirectoryTableBase");
        }

        var p = Need(e, ptr + 16 + ptr);
        int at = e.Version >= 4 ? ptr + 16 + ptr + 4 : ptr + 16 + ptr; // v4 adds Flags after DirectoryTableBase
        string name = "";
        if (p.Length >= at + 4)
        {
            at = SkipSid(p, at, ptr);
            int end = at < p.Length ? p[at..].IndexOf((byte)0) : -1;
            name = end >= 0 ? Encoding.Latin1.GetString(p.Slice(at, end)) : "";
        }

        return new ProcessTraceData(Ptr(p, 0, ptr), I32(p, ptr), I32(p, ptr + 4), I32(p, ptr + 8), I32(p, ptr + 12), Ptr(p, ptr + 16, ptr), name);
    }

    public static ThreadTraceData Thread(EtlEvent e, int ptr)
    {
        var p = Need(e, 8);
        return new ThreadTraceData(I32(p, 0), I32(p, 4), Opt(p, 8 + (2 * ptr), ptr), Opt(p, 8 + (6 * ptr), ptr));
    }

    public static CSwitchTraceData CSwitch(EtlEvent e)
    {
        var p = Need(e, 8);
        return new CSwitchTraceData(I32(p, 0), I32(p, 4));
    }

    public static MemoryPageFaultTraceData PageFault(EtlEvent e, int ptr)
    {
        var p = Need(e, 2 * ptr);
        return new MemoryPageFaultTraceData(Ptr(p, 0, ptr), Ptr(p, ptr, ptr));
    }

    public static MemoryHardFaultTraceData HardFault(EtlEvent e, int ptr)
    {
        var p = Need(e, 16 + (2 * ptr) + 8);
        return new MemoryHardFaultTraceData(I64(p, 0), I64(p, 8), Ptr(p, 16, ptr), Ptr(p, 16 + ptr, ptr), I32(p, 16 + (2 * ptr)), I32(p, 20 + (2 * ptr)));
    }

    public static ImageLoadTraceData Image(EtlEvent e, int ptr)
    {
        var p = Need(e, (2 * ptr) + 4);
        return new ImageLoadTraceData(Ptr(p, 0, ptr), Ptr(p, ptr, ptr), I32(p, 2 * ptr));
    }

    public static VirtualAllocTraceData VirtualAlloc(EtlEvent e, int ptr)
    {
        var p = Need(e, (2 * ptr) + 8);
        return new VirtualAllocTraceData(Ptr(p, 0, ptr), Ptr(p, ptr, ptr), I32(p, 2 * ptr), (uint)I32(p, (2 * ptr) + 4));
    }

    /// <summary>A null SID is 4 bytes; otherwise TOKEN_USER (two pointers) then a SID of 8 + 4·SubAuthorityCount bytes.</summary>
    private static int SkipSid(ReadOnlySpan<byte> p, int at, int ptr)
    {
        if (I32(p, at) == 0)
        {
            return at + 4;
        }

        int token = 2 * ptr;
        return at + token + 1 < p.Length ? at + token + 8 + (4 * p[at + token + 1]) : p.Length;
    }

    private static ReadOnlySpan<byte> Need(EtlEvent e, int bytes) =>
        e.Payload.Length >= bytes ? e.Payload : throw Bad(e, $"payload of {e.Payload.Length} bytes, {bytes} needed");

    private static ImportFormatException Bad(EtlEvent e, string problem) =>
        new($"{e.Where}: {EtwKernel.Name(e.Group, e.Opcode)} {problem}.");

    private static int I32(ReadOnlySpan<byte> p, int at) => BinaryPrimitives.ReadInt32LittleEndian(p[at..]);

    private static long I64(ReadOnlySpan<byte> p, int at) => BinaryPrimitives.ReadInt64LittleEndian(p[at..]);

    private static ulong Opt(ReadOnlySpan<byte> p, int at, int ptr) => p.Length >= at + ptr ? Ptr(p, at, ptr) : 0;

    private static ulong Ptr(ReadOnlySpan<byte> p, int at, int ptr) =>
        ptr == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(p[at..]) : BinaryPrimitives.ReadUInt32LittleEndian(p[at..]);
}
