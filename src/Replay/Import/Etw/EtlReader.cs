using System.Buffers.Binary;
using System.IO.Compression;

namespace Replay.Import.Etw;

/// <summary>
/// A managed reader of the ETL file format, for Linux (TraceEvent reads <c>.etl</c> only through advapi32): the file is
/// a run of buffers, each a 72-byte WMI_BUFFER_HEADER (BufferSize = bytes on disk, SavedOffset = end of the events,
/// SequenceNumber, the processor in ETW_BUFFER_CONTEXT, BufferFlag 0x40 = payload compressed with the format the
/// first buffer's State names) followed by 8-byte-aligned events. Events start with a marker (Version, HeaderType,
/// Flags 0x80 = TRACE_HEADER_FLAG): SYSTEM_TRACE_HEADER (32 bytes, types 1/2 for 32/64-bit loggers), its compact form
/// (24 bytes, types 3/4), PERFINFO_TRACE_HEADER (16 bytes plus PEBS/PMC extension words, types 16/17); EVENT_HEADER,
/// full and instance headers are skipped by their size. The first event is the TRACE_LOGFILE_HEADER.
/// Buffers are taken per processor in sequence order and the processors merged by timestamp, as ETW's ProcessTrace
/// delivers them. A <c>.zip</c> is opened and its <c>.etl</c> member read.
/// </summary>
public sealed class EtlReader
{
    /// <summary>sizeof(WMI_BUFFER_HEADER).</summary>
    public const int BufferHeaderSize = 72;

    /// <summary>EVENT_TRACE_COMPRESSED_MODE in LogFileMode.</summary>
    public const uint CompressedMode = 0x0400_0000;

    private const ushort FlagProcIndex = 0x20, FlagCompressed = 0x40;
    private const int SystemHeader = 32, CompactHeader = 24, PerfInfoHeader = 16;

    private readonly string _name;
    private readonly byte[] _data;
    private readonly bool _skipBad;

    private EtlReader(string name, byte[] data, bool skipBad)
    {
        _name = name;
        _data = data;
        _skipBad = skipBad;
    }

    /// <summary>The file's header event.</summary>
    public EtlHeader Header { get; private set; } = null!;

    /// <summary>Mapped kernel events (<see cref="EtwKernel.IsMapped"/>) in delivery order.</summary>
    public List<EtlEvent> Events { get; } = [];

    /// <summary>Events of any kind read (mapped or not).</summary>
    public long EventsRead { get; private set; }

    /// <summary>Buffers or events that could not be read and were skipped (<c>--skip-bad</c>).</summary>
    public long BadRecords { get; private set; }

    /// <summary>Reads <paramref name="path"/> (an <c>.etl</c>, or a <c>.zip</c> holding one).</summary>
    public static EtlReader Read(string path, bool skipBad)
    {
        (string name, byte[] data) = Load(path);
        var r = new EtlReader(name, data, skipBad);
        r.ReadAll();
        return r;
    }

    /// <summary>Reads ETL bytes already in memory; <paramref name="name"/> names them in errors.</summary>
    public static EtlReader Read(string name, byte[] data, bool skipBad)
    {
        var r = new EtlReader(name, data, skipBad);
        r.ReadAll();
        return r;
    }

    private static (string Name, byte[] Data) Load(string path)
    {
        if (!path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            return (path, File.ReadAllBytes(path));
        }

        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new ImportFormatException($"{path}: byte 0: not a zip archive ({e.Message.TrimEnd('.')}).", e);
        }

        using (zip)
        {
            var entry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith(".etl", StringComparison.OrdinalIgnoreCase))
                ?? throw new ImportFormatException($"{path}: the archive holds no .etl member.");
            using var s = entry.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return ($"{path}:{entry.FullName}", ms.ToArray());
        }
    }

    private void ReadAll()
    {
        int compression = ReadFileHeader();
        var perCpu = new SortedDictionary<int, List<(long Seq, long Offset, List<EtlEvent> Events)>>();
        long pos = 0;
        while (pos < _data.Length)
        {
            if (_data.Length - pos < BufferHeaderSize)
            {
                Fail(pos, $"truncated: a buffer header needs {BufferHeaderSize} bytes, the file ends after {_data.Length - pos}");
                break;
            }

            var h = _data.AsSpan((int)pos, BufferHeaderSize);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(h);
            uint saved = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            if (size < BufferHeaderSize || saved < BufferHeaderSize || saved > Math.Max(size, (uint)Header.BufferSize))
            {
                Fail(pos, $"not an ETL buffer (BufferSize {size}, SavedOffset {saved})");
                break; // without a size there is no next buffer to find
            }

            if (size > _data.Length - pos)
            {
                Fail(pos, $"truncated: the buffer holds {size} bytes, the file ends after {_data.Length - pos}");
                break;
            }

            ushort flag = BinaryPrimitives.ReadUInt16LittleEndian(h[52..]);
            int cpu = (flag & FlagProcIndex) != 0 ? BinaryPrimitives.ReadUInt16LittleEndian(h[40..]) : h[40];
            long seq = BinaryPrimitives.ReadInt64LittleEndian(h[24..]);
            byte[]? payload = Payload(pos, size, saved, flag, compression);
            if (payload is not null)
            {
                var events = new List<EtlEvent>();
                ReadEvents(pos, payload, cpu, events);
                if (!perCpu.TryGetValue(cpu, out var list))
                {
                    perCpu[cpu] = list = [];
                }

                list.Add((seq, pos, events));
            }

            pos += size;
        }

        Merge(perCpu);
    }

    /// <summary>Checks the first buffer and decodes its TRACE_LOGFILE_HEADER; returns the compression format (0 = none).</summary>
    private int ReadFileHeader()
    {
        const int minimum = BufferHeaderSize + SystemHeader + 48;
        uint marker = _data.Length >= BufferHeaderSize + 4 ? BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(BufferHeaderSize)) : 0;
        int type = (int)(marker >> 16) & 0xFF;
        if (_data.Length < minimum || (marker >> 24 & 0x80) == 0 || type is not (1 or 2) || _data[BufferHeaderSize + 7] != EtwKernel.GroupHeader
            || _data[BufferHeaderSize + 6] != 0)
        {
            throw new ImportFormatException(_data.Length < minimum
                ? $"{_name}: byte 0: not an ETL file (only {_data.Length} bytes; an ETL header buffer holds at least {minimum})."
                : $"{_name}: byte {BufferHeaderSize}: not an ETL file (no EventTrace header event after the first buffer header).");
        }

        var d = _data.AsSpan(BufferHeaderSize + SystemHeader);
        int pointer = (int)BinaryPrimitives.ReadUInt32LittleEndian(d[44..]);
        if (pointer is not (4 or 8))
        {
            pointer = type == 1 ? 4 : 8;
        }

        // TRACE_LOGFILE_HEADER: ... LoggerName and LogFileName (pointers), TIME_ZONE_INFORMATION (176 bytes), BootTime, PerfFreq.
        int perfFreqAt = 56 + (2 * pointer) + 176 + 8;
        long perfFreq = d.Length >= perfFreqAt + 8 ? BinaryPrimitives.ReadInt64LittleEndian(d[perfFreqAt..]) : 0;
        Header = new EtlHeader(
            pointer,
            (int)BinaryPrimitives.ReadUInt32LittleEndian(d[12..]),
            (int)BinaryPrimitives.ReadUInt32LittleEndian(d),
            BinaryPrimitives.ReadUInt32LittleEndian(d[32..]),
            (int)BinaryPrimitives.ReadUInt32LittleEndian(d[36..]),
            perfFreq,
            BinaryPrimitives.ReadInt64LittleEndian(_data.AsSpan(BufferHeaderSize + 16)));
        if (Header.BufferSize < BufferHeaderSize)
        {
            throw new ImportFormatException($"{_name}: byte {BufferHeaderSize + SystemHeader}: the EventTrace header gives a buffer size of {Header.BufferSize} bytes.");
        }

        // The compression format hides in the State of the first buffer ([MS-XCA] COMPRESSION_FORMAT_*).
        return (Header.LogFileMode & CompressedMode) != 0 ? BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(44)) : 0;
    }

    /// <summary>The buffer's events (bytes 72 to SavedOffset), decompressed if need be; null when skipped as bad.</summary>
    private byte[]? Payload(long pos, uint size, uint saved, ushort flag, int compression)
    {
        int length = (int)saved - BufferHeaderSize;
        if ((flag & FlagCompressed) == 0)
        {
            if (saved > size)
            {
                Fail(pos, $"the buffer's SavedOffset {saved} is past its size {size}");
                return null;
            }

            return _data.AsSpan((int)pos + BufferHeaderSize, length).ToArray();
        }

        if (compression != XpressLz77.Format)
        {
            Fail(pos, $"the buffer is compressed with format {compression}; only Xpress (3) is read");
            return null;
        }

        var output = new byte[length];
        try
        {
            int n = XpressLz77.Decompress(_data.AsSpan((int)pos + BufferHeaderSize, (int)size - BufferHeaderSize), output);
            if (n == length)
            {
                return output;
            }

            Fail(pos, $"the compressed buffer expands to {n} bytes, not {length}");
        }
        catch (InvalidDataException e)
        {
            Fail(pos, e.Message);
        }

        return null;
    }

    private void ReadEvents(long bufferAt, byte[] p, int cpu, List<EtlEvent> events)
    {
        int at = 0;
        while (at + 8 <= p.Length)
        {
            uint marker = BinaryPrimitives.ReadUInt32LittleEndian(p.AsSpan(at));
            if (marker == uint.MaxValue)
            {
                break; // the rest of the buffer is padding
            }

            int type = (int)(marker >> 16) & 0xFF;
            if ((marker >> 24 & 0x80) == 0)
            {
                Fail(bufferAt, $"event at payload byte {at}: no trace header marker (0x{marker:x8})");
                return;
            }

            bool classic = type is 1 or 2 or 3 or 4 or 16 or 17;
            int size = BinaryPrimitives.ReadUInt16LittleEndian(p.AsSpan(classic ? at + 4 : at));
            int header = type switch
            {
                1 or 2 => SystemHeader,
                3 or 4 => CompactHeader,
                16 or 17 => PerfInfoHeader + PerfInfoExtension(marker),
                _ => 4,
            };
            if (size < header || size > p.Length - at)
            {
                Fail(bufferAt, $"event at payload byte {at}: size {size} does not fit its {header}-byte header and the buffer's {p.Length - at} remaining bytes");
                return;
            }

            EventsRead++;
            if (classic)
            {
                var e = p.AsSpan(at, size);
                byte opcode = e[6], group = e[7];
                if (group == EtwKernel.GroupProcess && opcode == EtwKernel.ImageLoad)
                {
                    group = EtwKernel.GroupImage; // the kernel logs image loads with hook 0x030A; TraceEvent's Image/Load
                }

                if (EtwKernel.IsMapped(group, opcode))
                {
                    bool hasIds = type is 1 or 2 or 3 or 4;
                    events.Add(new EtlEvent(
                        group,
                        opcode,
                        BinaryPrimitives.ReadUInt16LittleEndian(e) & 0x00FF,
                        hasIds ? BinaryPrimitives.ReadInt32LittleEndian(e[8..]) : -1,
                        hasIds ? BinaryPrimitives.ReadInt32LittleEndian(e[12..]) : -1,
                        cpu,
                        BinaryPrimitives.ReadInt64LittleEndian(e[(hasIds ? 16 : 8)..]),
                        e[header..].ToArray(),
                        $"{_name}: buffer at byte {bufferAt}, event at payload byte {at}"));
                }
            }

            at += (size + 7) & ~7;
        }
    }

    /// <summary>Bytes of PEBS index and PMC counters after a PERFINFO header (TRACE_HEADER_PEBS_INDEX_FLAG, TRACE_HEADER_PMC_COUNTERS_MASK).</summary>
    private static int PerfInfoExtension(uint marker) => ((marker & 0x8000) != 0 ? 8 : 0) + (int)((marker & 0x0700) >> 8) * 8;

    private void Merge(SortedDictionary<int, List<(long Seq, long Offset, List<EtlEvent> Events)>> perCpu)
    {
        var streams = perCpu.Values
            .Select(list => list.OrderBy(b => b.Seq).ThenBy(b => b.Offset).SelectMany(b => b.Events).ToList())
            .ToList();
        var queue = new PriorityQueue<int, (long, int)>();
        var next = new int[streams.Count];
        for (int i = 0; i < streams.Count; i++)
        {
            if (streams[i].Count > 0)
            {
                queue.Enqueue(i, (streams[i][0].TimeStamp, i));
            }
        }

        while (queue.TryDequeue(out int s, out _))
        {
            Events.Add(streams[s][next[s]++]);
            if (next[s] < streams[s].Count)
            {
                queue.Enqueue(s, (streams[s][next[s]].TimeStamp, s));
            }
        }
    }

    private void Fail(long at, string problem)
    {
        if (!_skipBad)
        {
            throw new ImportFormatException($"{_name}: byte {at}: {problem}.");
        }

        BadRecords++;
    }
}
