namespace Replay.Import.Etw;

/// <summary>
/// Classic NT Kernel Logger hook groups and types (EVENT_TRACE_GROUP_* in ntwmi.h / evntrace.h), as TraceEvent's
/// <c>KernelTraceEventParser</c> names its tasks and opcodes.
/// </summary>
public static class EtwKernel
{
    /// <summary>EVENT_TRACE_GROUP_HEADER: the <c>EventTrace</c> header (type 0).</summary>
    public const byte GroupHeader = 0x00;

    /// <summary>EVENT_TRACE_GROUP_MEMORY: TraceEvent's <c>Memory</c> task (page faults, hard faults, VirtualAlloc).</summary>
    public const byte GroupMemory = 0x02;

    /// <summary>EVENT_TRACE_GROUP_PROCESS: TraceEvent's <c>Process</c> task.</summary>
    public const byte GroupProcess = 0x03;

    /// <summary>EVENT_TRACE_GROUP_THREAD: TraceEvent's <c>Thread</c> task (and <c>CSwitch</c>).</summary>
    public const byte GroupThread = 0x05;

    /// <summary>EVENT_TRACE_GROUP_IMAGE: TraceEvent's <c>Image</c> task.</summary>
    public const byte GroupImage = 0x14;

    /// <summary>Process and Thread opcodes: Start 1, Stop 2, DCStart 3, DCStop 4; Process/Defunct 39.</summary>
    public const byte Start = 1, Stop = 2, DCStart = 3, DCStop = 4, Defunct = 39;

    /// <summary>Thread/CSwitch (TraceEvent's <c>CSwitchTraceData</c>).</summary>
    public const byte CSwitch = 36;

    /// <summary>Image/Load (Image/Unload is <see cref="Stop"/>: opcode 2).</summary>
    public const byte ImageLoad = 10;

    /// <summary>Memory opcodes of <c>MemoryPageFaultTraceData</c>: TransitionFault 10, DemandZeroFault 11, CopyOnWrite 12, GuardMemory 13, HardMemory 14, AccessViolation 15.</summary>
    public const byte TransitionFault = 10, DemandZeroFault = 11, CopyOnWrite = 12, GuardMemory = 13, HardMemory = 14, AccessViolation = 15;

    /// <summary>Memory/HardFault (<c>MemoryHardFaultTraceData</c>).</summary>
    public const byte HardFault = 32;

    /// <summary>Memory/VirtualAlloc and Memory/VirtualFree (<c>VirtualAllocTraceData</c>).</summary>
    public const byte VirtualAlloc = 98, VirtualFree = 99;

    /// <summary>TraceEvent's <c>Task/Opcode</c> name of a kernel event, for messages.</summary>
    public static string Name(byte group, byte opcode) => (group, opcode) switch
    {
        (GroupProcess, Start) => "Process/Start",
        (GroupProcess, Stop) => "Process/Stop",
        (GroupProcess, DCStart) => "Process/DCStart",
        (GroupProcess, DCStop) => "Process/DCStop",
        (GroupProcess, Defunct) => "Process/Defunct",
        (GroupThread, Start) => "Thread/Start",
        (GroupThread, Stop) => "Thread/Stop",
        (GroupThread, DCStart) => "Thread/DCStart",
        (GroupThread, DCStop) => "Thread/DCStop",
        (GroupThread, CSwitch) => "Thread/CSwitch",
        (GroupImage, ImageLoad) => "Image/Load",
        (GroupImage, Stop) => "Image/Unload",
        (GroupImage, DCStart) => "Image/DCStart",
        (GroupImage, DCStop) => "Image/DCStop",
        (GroupMemory, TransitionFault) => "Memory/TransitionFault",
        (GroupMemory, DemandZeroFault) => "Memory/DemandZeroFault",
        (GroupMemory, CopyOnWrite) => "Memory/CopyOnWrite",
        (GroupMemory, GuardMemory) => "Memory/GuardMemory",
        (GroupMemory, HardMemory) => "Memory/HardMemory",
        (GroupMemory, AccessViolation) => "Memory/AccessViolation",
        (GroupMemory, HardFault) => "Memory/HardFault",
        (GroupMemory, VirtualAlloc) => "Memory/VirtualAlloc",
        (GroupMemory, VirtualFree) => "Memory/VirtualFree",
        _ => $"group 0x{group:x2} opcode {opcode}",
    };

    /// <summary>True for the events the importer maps (the others are skipped by size).</summary>
    public static bool IsMapped(byte group, byte opcode) => group switch
    {
        GroupProcess => opcode is Start or Stop or DCStart or DCStop or Defunct,
        GroupThread => opcode is Start or Stop or DCStart or DCStop or CSwitch,
        GroupImage => opcode is ImageLoad or Stop or DCStart or DCStop,
        GroupMemory => opcode is (>= TransitionFault and <= AccessViolation) or HardFault or VirtualAlloc or VirtualFree,
        _ => false,
    };
}
