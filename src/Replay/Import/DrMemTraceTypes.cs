namespace Replay.Import;

/// <summary>What the importer does with a drmemtrace record type.</summary>
public enum DrRecordClass : byte
{
    /// <summary>Not a type of trace version 5: malformed.</summary>
    Unknown,

    /// <summary>A data load: a read.</summary>
    Load,

    /// <summary>A data store: a write.</summary>
    Store,

    /// <summary>An instruction fetch (plain, branch, sysenter kinds): a fetch of <c>size</c> bytes at the pc.</summary>
    Fetch,

    /// <summary>INSTR_BUNDLE: further instructions right after the previous one; a fetch of their summed lengths.</summary>
    Bundle,

    /// <summary>Deliberately not an access: prefetches (never fault), cache flushes.</summary>
    Ignored,

    /// <summary>INSTR_NO_FETCH: an instruction that fetches nothing (a rep iteration of an already fetched one): not an access, but retired (<c>insns</c>).</summary>
    NoFetch,

    /// <summary>Encoding bytes, thread, pid, header, footer: metadata.</summary>
    Metadata,

    /// <summary>A MARKER (subtype in <c>size</c>, value in <c>addr</c>).</summary>
    Marker,

    /// <summary>THREAD_EXIT: the thread ends.</summary>
    ThreadExit,
}

/// <summary>
/// DynamoRIO drmemtrace <c>trace_type_t</c> codes (clients/drcachesim/common/trace_entry.h, trace version 5) and
/// how each is imported. Instruction fetches are the codes DynamoRIO's <c>type_is_instr</c> accepts (10–16, 31,
/// 48, 49) plus INSTR_MAYBE_FETCH (30, online-only, taken as a fetch); INSTR_NO_FETCH (29) fetches nothing but is
/// an instruction; INSTR_BUNDLE (17) is <c>size</c> instructions.
/// </summary>
public static class DrMemTraceTypes
{
    public const ushort Read = 0;
    public const ushort Write = 1;
    public const ushort Instr = 10;
    public const ushort InstrBundle = 17;
    public const ushort Thread = 22;
    public const ushort ThreadExit = 23;
    public const ushort Pid = 24;
    public const ushort Header = 25;
    public const ushort Footer = 26;
    public const ushort Marker = 28;
    public const ushort InstrNoFetch = 29;
    public const ushort Encoding = 47;

    /// <summary>Marker subtype: timestamp (microseconds since 1601), the points where threads interleave.</summary>
    public const ushort MarkerTimestamp = 2;

    /// <summary>Marker subtype: the CPU the thread ran on from here (Linux: bits 11:0 the CPU number).</summary>
    public const ushort MarkerCpuId = 3;

    private static readonly DrRecordClass[] Classes = Build();

    /// <summary>The class of record type <paramref name="type"/>.</summary>
    public static DrRecordClass Classify(ushort type) => type < Classes.Length ? Classes[type] : DrRecordClass.Unknown;

    private static DrRecordClass[] Build()
    {
        var c = new DrRecordClass[50];
        c[Read] = DrRecordClass.Load;
        c[Write] = DrRecordClass.Store;
        Fill(c, 2, 9, DrRecordClass.Ignored);     // PREFETCH, PREFETCHT0-2, PREFETCHNTA, PREFETCH_READ/WRITE/INSTR
        Fill(c, 10, 16, DrRecordClass.Fetch);     // INSTR, DIRECT/INDIRECT_JUMP, CONDITIONAL_JUMP, DIRECT/INDIRECT_CALL, RETURN
        c[InstrBundle] = DrRecordClass.Bundle;
        Fill(c, 18, 21, DrRecordClass.Ignored);   // INSTR_FLUSH(_END), DATA_FLUSH(_END): cache, not TLB, maintenance
        c[Thread] = DrRecordClass.Metadata;
        c[ThreadExit] = DrRecordClass.ThreadExit;
        c[Pid] = DrRecordClass.Metadata;
        c[Header] = DrRecordClass.Metadata;
        c[Footer] = DrRecordClass.Metadata;
        c[27] = DrRecordClass.Ignored;            // HARDWARE_PREFETCH
        c[Marker] = DrRecordClass.Marker;
        c[InstrNoFetch] = DrRecordClass.NoFetch;
        c[30] = DrRecordClass.Fetch;              // INSTR_MAYBE_FETCH
        c[31] = DrRecordClass.Fetch;              // INSTR_SYSENTER
        Fill(c, 32, 46, DrRecordClass.Ignored);   // PREFETCH_READ/INSTR/WRITE_L1..L3(_NT)
        c[Encoding] = DrRecordClass.Metadata;
        c[48] = DrRecordClass.Fetch;              // INSTR_TAKEN_JUMP
        c[49] = DrRecordClass.Fetch;              // INSTR_UNTAKEN_JUMP
        return c;
    }

    private static void Fill(DrRecordClass[] c, int first, int last, DrRecordClass value) => c.AsSpan(first, last - first + 1).Fill(value);
}
