using System.Buffers.Binary;
using System.Text;
using Replay.Import.Etw;

namespace Replay.Tests.Import.Etw;

/// <summary>
/// Writes small ETL files in the real binary format for tests (uncompressed; 32- or 64-bit pointers): a header buffer
/// holding the EventTrace TRACE_LOGFILE_HEADER, then one buffer per processor, each a WMI_BUFFER_HEADER and
/// 8-byte-aligned events with SYSTEM_TRACE_HEADER or its compact form (thread and process in the header) or
/// PERFINFO_TRACE_HEADER (neither). Header types: system 1/2, compact 3/4, perfinfo 16/17 for 32/64-bit loggers.
/// </summary>
internal sealed class EtlWriter(int processors, int pointer = 8)
{
    public const int BufferSize = 8192;
    private readonly List<byte>[] _cpu = Enumerable.Range(0, processors).Select(_ => new List<byte>()).ToArray();

    /// <summary>An event with a SYSTEM_TRACE_HEADER (32 bytes), or its 24-byte compact form.</summary>
    public EtlWriter System(int cpu, byte group, byte opcode, int version, int tid, int pid, long time, byte[] payload, bool compact = false)
    {
        int size = compact ? 24 : 32;
        var e = new byte[size + payload.Length];
        Marker(e, version, (byte)((compact ? 3 : 1) + (pointer == 8 ? 1 : 0)), opcode, group);
        BinaryPrimitives.WriteInt32LittleEndian(e.AsSpan(8), tid);
        BinaryPrimitives.WriteInt32LittleEndian(e.AsSpan(12), pid);
        BinaryPrimitives.WriteInt64LittleEndian(e.AsSpan(16), time);
        payload.CopyTo(e, size);
        return Add(cpu, e);
    }

    /// <summary>An event with a PERFINFO_TRACE_HEADER.</summary>
    public EtlWriter PerfInfo(int cpu, byte group, byte opcode, int version, long time, byte[] payload)
    {
        var e = new byte[16 + payload.Length];
        Marker(e, version, (byte)(pointer == 8 ? 17 : 16), opcode, group);
        BinaryPrimitives.WriteInt64LittleEndian(e.AsSpan(8), time);
        payload.CopyTo(e, 16);
        return Add(cpu, e);
    }

    public byte[] ToArray()
    {
        var file = new List<byte>();
        var header = new byte[56 + (2 * pointer) + 176 + 32]; // TRACE_LOGFILE_HEADER: two pointers, TIME_ZONE_INFORMATION, times
        BinaryPrimitives.WriteInt32LittleEndian(header, BufferSize);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), _cpu.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(32), 0x0001_0001); // EVENT_TRACE_FILE_MODE_SEQUENTIAL | RELOG-style, no compression
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(36), _cpu.Length + 1);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(44), pointer);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(56 + (2 * pointer) + 176 + 8), 10_000_000); // PerfFreq after BootTime
        var first = new byte[32 + header.Length];
        Marker(first, 2, (byte)(pointer == 8 ? 2 : 1), 0, EtwKernel.GroupHeader);
        header.CopyTo(first, 32);
        file.AddRange(Buffer(0, 0, 4, Align(first)));
        for (int c = 0; c < _cpu.Length; c++)
        {
            file.AddRange(Buffer(c, c + 1, 0, [.. _cpu[c]]));
        }

        return [.. file];
    }

    /// <summary>A Process event (version 4) with a null SID and empty command line.</summary>
    public byte[] Process(int pid, ulong dtb, string name)
    {
        var p = new List<byte>();
        p.AddRange(Ptr(0xFFFF_FA80_0000_0000UL + (ulong)pid)); // UniqueProcessKey
        p.AddRange(U32(pid));
        p.AddRange(U32(4));   // ParentID
        p.AddRange(U32(1));   // SessionID
        p.AddRange(U32(259)); // ExitStatus STILL_ACTIVE
        p.AddRange(Ptr(dtb));
        p.AddRange(U32(0));   // Flags
        p.AddRange(U32(0));   // null SID
        p.AddRange(Encoding.Latin1.GetBytes(name + "\0"));
        p.AddRange(new byte[6]); // CommandLine, PackageFullName, ApplicationID: empty UTF-16
        return [.. p];
    }

    /// <summary>A Thread event (version 3): ProcessID, TThreadID, StackBase, StackLimit, UserStackBase, UserStackLimit, StartAddr, Win32StartAddr, TebBase.</summary>
    public byte[] Thread(int pid, int tid, ulong userStackBase, ulong teb) =>
        [.. U32(pid), .. U32(tid), .. Ptr(0), .. Ptr(0), .. Ptr(userStackBase), .. Ptr(0), .. Ptr(0), .. Ptr(0), .. Ptr(teb), .. new byte[8]];

    public static byte[] CSwitch(int newTid, int oldTid) => [.. U32(newTid), .. U32(oldTid), .. new byte[16]];

    public byte[] PageFault(ulong va, ulong pc) => [.. Ptr(va), .. Ptr(pc)];

    public byte[] HardFault(ulong va, int tid) => [.. U64(0), .. U64(0), .. Ptr(va), .. Ptr(0), .. U32(tid), .. U32(4096)];

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

    private byte[] Ptr(ulong v) => pointer == 8 ? U64(v) : BitConverter.GetBytes((uint)v);
}
