using System.Buffers.Binary;
using System.Text;
using Replay.Import.Etw;

namespace Replay.Tests.Import.Etw;

/// <summary>
/// Writes small ETL files in the real binary format for tests (uncompressed, 64-bit pointers): a header buffer holding
/// the EventTrace TRACE_LOGFILE_HEADER, then one buffer per processor, each a WMI_BUFFER_HEADER and 8-byte-aligned events
/// with SYSTEM_TRACE_HEADER (thread and process in the header) or PERFINFO_TRACE_HEADER (neither).
/// </summary>
internal sealed class EtlWriter(int processors)
{
    public const int BufferSize = 8192;
    private readonly List<byte>[] _cpu = Enumerable.Range(0, processors).Select(_ => new List<byte>()).ToArray();

    /// <summary>An event with a SYSTEM_TRACE_HEADER (type 2: 64-bit).</summary>
    public EtlWriter System(int cpu, byte group, byte opcode, int version, int tid, int pid, long time, byte[] payload)
    {
        var e = new byte[32 + payload.Length];
        Marker(e, version, 2, opcode, group);
        BinaryPrimitives.WriteInt32LittleEndian(e.AsSpan(8), tid);
        BinaryPrimitives.WriteInt32LittleEndian(e.AsSpan(12), pid);
        BinaryPrimitives.WriteInt64LittleEndian(e.AsSpan(16), time);
        payload.CopyTo(e, 32);
        return Add(cpu, e);
    }

    /// <summary>An event with a PERFINFO_TRACE_HEADER (type 17: 64-bit).</summary>
    public EtlWriter PerfInfo(int cpu, byte group, byte opcode, int version, long time, byte[] payload)
    {
        var e = new byte[16 + payload.Length];
        Marker(e, version, 17, opcode, group);
        BinaryPrimitives.WriteInt64LittleEndian(e.AsSpan(8), time);
        payload.CopyTo(e, 16);
        return Add(cpu, e);
    }

    public byte[] ToArray()
    {
        var file = new List<byte>();
        var header = new byte[280]; // TRACE_LOGFILE_HEADER with 8-byte pointers
        BinaryPrimitives.WriteInt32LittleEndian(header, BufferSize);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), _cpu.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(32), 0x0001_0001); // EVENT_TRACE_FILE_MODE_SEQUENTIAL | RELOG-style, no compression
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(36), _cpu.Length + 1);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(44), 8);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(256), 10_000_000);
        var first = new byte[32 + header.Length];
        Marker(first, 2, 2, 0, EtwKernel.GroupHeader);
        header.CopyTo(first, 32);
        file.AddRange(Buffer(0, 0, 4, Align(first)));
        for (int c = 0; c < _cpu.Length; c++)
        {
            file.AddRange(Buffer(c, c + 1, 0, [.. _cpu[c]]));
        }

        return [.. file];
    }

    /// <summary>A Process event (version 4) with a null SID and empty command line.</summary>
    public static byte[] Process(int pid, ulong dtb, string name)
    {
        var p = new List<byte>();
        p.AddRange(U64(0xFFFF_FA80_0000_0000UL + (ulong)pid)); // UniqueProcessKey
        p.AddRange(U32(pid));
        p.AddRange(U32(4));   // ParentID
        p.AddRange(U32(1));   // SessionID
        p.AddRange(U32(259)); // ExitStatus STILL_ACTIVE
        p.AddRange(U64(dtb));
        p.AddRange(U32(0));   // Flags
        p.AddRange(U32(0));   // null SID
        p.AddRange(Encoding.Latin1.GetBytes(name + "\0"));
        p.AddRange(new byte[6]); // CommandLine, PackageFullName, ApplicationID: empty UTF-16
        return [.. p];
    }

    /// <summary>A Thread event (version 3): ProcessID, TThreadID, StackBase, StackLimit, UserStackBase, UserStackLimit, StartAddr, Win32StartAddr, TebBase.</summary>
    public static byte[] Thread(int pid, int tid, ulong userStackBase, ulong teb) =>
        [.. U32(pid), .. U32(tid), .. U64(0), .. U64(0), .. U64(userStackBase), .. U64(0), .. U64(0), .. U64(0), .. U64(teb), .. new byte[8]];

    public static byte[] CSwitch(int newTid, int oldTid) => [.. U32(newTid), .. U32(oldTid), .. new byte[16]];

    public static byte[] PageFault(ulong va, ulong pc) => [.. U64(va), .. U64(pc)];

    public static byte[] HardFault(ulong va, int tid) => [.. U64(0), .. U64(0), .. U64(va), .. U64(0), .. U32(tid), .. U32(4096)];

    private EtlWriter Add(int cpu, byte[] e)
    {
        _cpu[cpu].AddRange(Align(e));
        return this;
    }

    private static void Marker(byte[] e, int version, byte type, byte opcode, byte group)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(e, (ushort)version);
        e[2] = type;
        e[3] = 0xC0; // TRACE_HEADER_FLAG | TRACE_HEADER_EVENT_TRACE
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(4), (ushort)e.Length);
        e[6] = opcode;
        e[7] = group;
    }

    private static byte[] Align(byte[] e) => [.. e, .. new byte[((e.Length + 7) & ~7) - e.Length]];

    private static byte[] Buffer(int cpu, long seq, ushort type, byte[] events)
    {
        var b = new byte[BufferSize];
        b.AsSpan(72).Fill(0xFF);
        BinaryPrimitives.WriteInt32LittleEndian(b, BufferSize);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), 72 + events.Length); // SavedOffset
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), 72 + events.Length); // CurrentOffset
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(24), seq);
        b[40] = (byte)cpu;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(54), type);
        events.CopyTo(b, 72);
        return b;
    }

    private static byte[] U32(int v) => BitConverter.GetBytes(v);

    private static byte[] U64(ulong v) => BitConverter.GetBytes(v);
}
