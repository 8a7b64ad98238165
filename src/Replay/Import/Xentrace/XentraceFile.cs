using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Replay.Import.Xentrace;

/// <summary>
/// A xentrace file (tools/xentrace/xentrace.c): a sequence of per-CPU windows, each a <c>TRC_TRACE_CPU_CHANGE</c>
/// record {cpu, window_size} without a TSC followed by window_size bytes of that CPU's records. A record is a u32
/// header (bits 0-27 event, 28-30 number of extra u32 words, bit 31 a u64 TSC follows), the TSC, then the words.
/// <see cref="Records"/> merges the CPUs by TSC as xenalyze does: always the CPU whose next record has the smallest
/// TSC (a <c>TRC_LOST_RECORDS</c> by the TSC of the first lost record), ties to the lower CPU; within a CPU, file order.
/// Bad input (a foreign file, a truncated window, a record that overruns its window) throws one sentence naming the
/// file and byte offset, or with <c>skipBad</c> is counted in <see cref="BadRecords"/> and skipped.
/// </summary>
internal sealed class XentraceFile : IDisposable
{
    private const uint CpuChangeHeader = XenEvents.CpuChange | (2u << 28);
    private const int MaxCpus = 4096;

    private readonly SafeFileHandle _handle;
    private readonly bool _skipBad;
    private readonly List<(int Cpu, long Offset, int Length, bool Truncated)> _windows = [];

    /// <summary>Counts the bytes of the records' blocks as they are read (the progress bar); null: nothing counts them.</summary>
    private readonly ImportProgress? _progress;

    private XentraceFile(string path, bool skipBad, ImportProgress? progress)
    {
        Path = path;
        _skipBad = skipBad;
        _progress = progress;
        _handle = File.OpenHandle(path);
        Length = RandomAccess.GetLength(_handle);
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>Windows, records or stretches of bytes skipped as bad (<c>--skip-bad</c>).</summary>
    public long BadRecords { get; private set; }

    /// <summary>Per-CPU windows read (<c>TRC_TRACE_CPU_CHANGE</c> records).</summary>
    public int Windows => _windows.Count;

    /// <summary>The physical CPUs that have a window, ascending.</summary>
    public IReadOnlyList<int> Cpus => _windows.Select(w => w.Cpu).Distinct().Order().ToList();

    /// <summary>Opens <paramref name="path"/> and reads its window headers; throws <see cref="ImportFormatException"/> on a foreign or truncated file.</summary>
    public static XentraceFile Open(string path, bool skipBad, ImportProgress? progress = null)
    {
        var f = new XentraceFile(path, skipBad, progress);
        try
        {
            f.Index();
            return f;
        }
        catch
        {
            f.Dispose();
            throw;
        }
    }

    public void Dispose() => _handle.Dispose();

    private void Index()
    {
        if (Length == 0)
        {
            throw new ImportFormatException($"{Path}: byte 0: the file is empty, not a xentrace file.");
        }

        Span<byte> head = stackalloc byte[12];
        long offset = 0;
        while (offset < Length)
        {
            int n = RandomAccess.Read(_handle, head, offset);
            uint header = n >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(head) : 0;
            int cpu = n >= 8 ? BinaryPrimitives.ReadInt32LittleEndian(head[4..]) : -1;
            long size = n >= 12 ? BinaryPrimitives.ReadUInt32LittleEndian(head[8..]) : -1;
            string? bad =
                n < 12 ? $"truncated: {Length - offset} bytes left where a {12}-byte TRC_TRACE_CPU_CHANGE record should be"
                : header != CpuChangeHeader ? offset == 0
                    ? $"not a xentrace file (it does not start with a TRC_TRACE_CPU_CHANGE record; header 0x{header:x8})"
                    : $"expected a TRC_TRACE_CPU_CHANGE record (the header of a per-CPU block), found header 0x{header:x8}"
                : (uint)cpu >= MaxCpus ? $"TRC_TRACE_CPU_CHANGE names CPU {(uint)cpu}, more than {MaxCpus}"
                : offset + 12 + size > Length ? $"truncated: CPU {cpu}'s block declares {size} bytes but the file ends {Length - offset - 12} bytes after its header"
                : null;
            if (bad is null)
            {
                if (size > 0)
                {
                    _windows.Add((cpu, offset + 12, (int)size, false));
                }

                offset += 12 + size;
                continue;
            }

            if (!_skipBad || (offset == 0 && header != CpuChangeHeader))
            {
                throw new ImportFormatException($"{Path}: byte {offset}: {bad}.");
            }

            BadRecords++;
            if (header == CpuChangeHeader && (uint)cpu < MaxCpus && n >= 12)
            {
                // A truncated last window (counted once, here): keep the records that are whole.
                _windows.Add((cpu, offset + 12, (int)(Length - offset - 12), true));
                break;
            }

            offset = Resync(offset + 4);
        }

        if (_windows.Count == 0)
        {
            throw new ImportFormatException($"{Path}: byte {offset}: no per-CPU block holds a record; nothing to import.");
        }
    }

    /// <summary>The next 4-byte-aligned offset after <paramref name="from"/> that holds a CPU_CHANGE header, or the end.</summary>
    private long Resync(long from)
    {
        var buf = new byte[1 << 16];
        for (long o = from & ~3L; o < Length; o += buf.Length - 12)
        {
            int n = RandomAccess.Read(_handle, buf, o);
            for (int i = 0; i + 4 <= n; i += 4)
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(i)) == CpuChangeHeader)
                {
                    return o + i;
                }
            }

            if (n < buf.Length)
            {
                break;
            }
        }

        return Length;
    }

    /// <summary>Every record but the CPU_CHANGE headers, the CPUs merged by TSC (see the class summary).</summary>
    public IEnumerable<XenRecord> Records()
    {
        var cursors = _windows.GroupBy(w => w.Cpu).OrderBy(g => g.Key).Select(g => new CpuCursor(this, g.Key, g.Select(w => (w.Offset, w.Length, w.Truncated)).ToList())).ToList();
        var queue = new PriorityQueue<CpuCursor, (ulong Tsc, int Cpu)>();
        foreach (var c in cursors)
        {
            if (c.MoveNext())
            {
                queue.Enqueue(c, (c.OrderTsc, c.Cpu));
            }
        }

        while (queue.TryDequeue(out var c, out _))
        {
            yield return c.Current;
            if (c.MoveNext())
            {
                queue.Enqueue(c, (c.OrderTsc, c.Cpu));
            }
        }
    }

    /// <summary>One CPU's records in file order, a window at a time.</summary>
    private sealed class CpuCursor(XentraceFile file, int cpu, List<(long Offset, int Length, bool Truncated)> windows)
    {
        private byte[] _buf = [];
        private int _window = -1;
        private int _pos;
        private int _len;
        private ulong _lastTsc;

        public int Cpu => cpu;

        public XenRecord Current { get; private set; }

        /// <summary>The TSC the merge orders this record by (a lost-records record: the first lost record's TSC).</summary>
        public ulong OrderTsc { get; private set; }

        public bool MoveNext()
        {
            while (true)
            {
                if (_pos >= _len)
                {
                    if (++_window >= windows.Count)
                    {
                        return false;
                    }

                    var (offset, length, _) = windows[_window];
                    if (_buf.Length < length)
                    {
                        _buf = new byte[length];
                    }

                    _len = RandomAccess.Read(file._handle, _buf.AsSpan(0, length), offset);
                    file._progress?.Advance(_len);
                    _pos = 0;
                    continue;
                }

                long at = windows[_window].Offset + _pos;
                var span = _buf.AsSpan(_pos, _len - _pos);
                uint header = span.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(span) : 0;
                bool hasTsc = (header >> 31) != 0;
                int extra = (int)((header >> 28) & 7);
                int size = 4 + (hasTsc ? 8 : 0) + (4 * extra);
                if (span.Length < 4 || span.Length < size)
                {
                    string why = $"{file.Path}: byte {at}: truncated record: {size} bytes (header 0x{header:x8}) do not fit in the {span.Length} left of CPU {cpu}'s block.";
                    if (!file._skipBad)
                    {
                        throw new ImportFormatException(why);
                    }

                    if (!windows[_window].Truncated)
                    {
                        file.BadRecords++;
                    }

                    _pos = _len;
                    continue;
                }

                ulong tsc = hasTsc ? BinaryPrimitives.ReadUInt64LittleEndian(span[4..]) : _lastTsc;
                var words = default(XenWords);
                var data = span.Slice(hasTsc ? 12 : 4, 4 * extra);
                for (int i = 0; i < extra; i++)
                {
                    words[i] = BinaryPrimitives.ReadUInt32LittleEndian(data[(4 * i)..]);
                }

                _pos += size;
                uint ev = header & 0x0fffffff;
                if (ev == XenEvents.CpuChange)
                {
                    continue; // only at window starts, which Index consumed; a stray one carries nothing
                }

                if (hasTsc)
                {
                    _lastTsc = tsc;
                }

                Current = new XenRecord { Cpu = cpu, Tsc = tsc, HasTsc = hasTsc, Event = ev, Extra = extra, Offset = at, Words = words };

                // xenalyze orders a lost-records record {lost, did:16|vid:16, first_tsc} by the first lost record's TSC.
                OrderTsc = ev == XenEvents.LostRecords && extra == 4 ? Current.Word64(2) : tsc;
                return true;
            }
        }
    }
}
