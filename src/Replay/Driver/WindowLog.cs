using System.Collections;
using Replay.Analysis.Reports;
using Replay.Engines.Contract;

namespace Replay.Driver;

/// <summary>
/// One engine run's closed timeline windows, in window order. <see cref="InMemory"/> keeps them as a list (fine for
/// the default window of 1M events); <see cref="Spilled"/> writes each to a file as it closes and reads them back one
/// at a time, so a run at <c>--window 1</c> holds no window in memory however many it closes (issue 15, item 9). The
/// report builder prices the windows as it writes <c>timeline.parquet</c>, the same either way.
/// </summary>
internal abstract class WindowLog : IReadOnlyCollection<WindowResult>, IDisposable
{
    /// <summary>Windows in the log.</summary>
    public abstract int Count { get; }

    /// <summary>The most windows this log held in memory at once (what item 9 bounds).</summary>
    public abstract int PeakResident { get; }

    /// <summary>A log kept in memory.</summary>
    public static WindowLog InMemory() => new MemoryLog();

    /// <summary>A log spilled to a new file in <paramref name="folder"/> for stats of <paramref name="exitKinds"/> exit kinds and <paramref name="counters"/> counters.</summary>
    public static WindowLog Spilled(string folder, int exitKinds, int counters) => new SpillLog(folder, exitKinds, counters);

    /// <summary>Appends a closed window (its window index is above every one before it).</summary>
    public abstract void Add(WindowResult window);

    /// <summary>Drops every window (<c>--skip</c>/<c>--warmup</c> ended: the windows before count for nothing).</summary>
    public abstract void Clear();

    /// <summary>No more windows follow: the log is ready to be read.</summary>
    public abstract void Complete();

    public abstract IEnumerator<WindowResult> GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    private sealed class MemoryLog : WindowLog
    {
        private readonly List<WindowResult> _windows = [];
        private int _peak;

        public override int Count => _windows.Count;

        public override int PeakResident => _peak;

        public override void Add(WindowResult window)
        {
            _windows.Add(window);
            _peak = Math.Max(_peak, _windows.Count);
        }

        public override void Clear() => _windows.Clear();

        public override void Complete()
        {
        }

        public override IEnumerator<WindowResult> GetEnumerator() => _windows.GetEnumerator();
    }

    /// <summary>
    /// The windows in a file, written by <see cref="WindowCodec"/> through a 64 KiB buffer as they close; read back by
    /// one sequential pass per enumeration. The file is deleted when the log is disposed (and with its folder, the
    /// report folder's scratch folder, however the run ends).
    /// </summary>
    private sealed class SpillLog(string folder, int exitKinds, int counters) : WindowLog
    {
        private readonly string _path = Path.Combine(folder, $"{Guid.NewGuid():N}.windows");
        private readonly WindowCodec _codec = new(exitKinds, counters);
        private FileStream? _file;
        private BinaryWriter? _writer;
        private int _count;
        private int _peak;
        private bool _complete;

        public override int Count => _count;

        public override int PeakResident => _peak;

        public override void Add(WindowResult window)
        {
            ObjectDisposedException.ThrowIf(_complete, this);
            if (_writer is null)
            {
                _file = new FileStream(_path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
                _writer = new BinaryWriter(_file);
            }

            _peak = Math.Max(_peak, 1); // the one being written, no longer held once Add returns
            _codec.Write(_writer, window);
            _count++;
        }

        public override void Clear()
        {
            _writer?.Flush();
            _file?.SetLength(0);
            _count = 0;
        }

        public override void Complete()
        {
            _complete = true;
            _writer?.Dispose();
            _file?.Dispose();
            _writer = null;
            _file = null;
        }

        public override IEnumerator<WindowResult> GetEnumerator()
        {
            if (!_complete)
            {
                throw new InvalidOperationException("The windows are read once the run is complete.");
            }

            return Read();
        }

        private IEnumerator<WindowResult> Read()
        {
            if (_count == 0)
            {
                yield break;
            }

            using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var reader = new BinaryReader(file);
            for (int i = 0; i < _count; i++)
            {
                yield return _codec.Read(reader);
            }
        }

        protected override void Dispose(bool disposing)
        {
            Complete();
            File.Delete(_path);
            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// A window as bytes: its index, event range and time, then every count of its <see cref="EngineStats"/> (the
/// scalar fields in <see cref="Scalars"/>' order, the exit counts, exit units and counters) as a sparse list of
/// (gap to the previous non-zero slot, zigzag value) varints: a window of a few events has few non-zero counts.
/// </summary>
internal sealed class WindowCodec(int exitKinds, int counters)
{
    /// <summary>Every scalar of <see cref="EngineStats"/> a window keeps, in slot order (SegmentPeak is the driver's scratch, 0 in every window).</summary>
    internal static readonly (Func<EngineStats, long> Get, Action<EngineStats, long> Set)[] Scalars =
    [
        (s => s.Events, (s, v) => s.Events = v),
        (s => s.Accesses, (s, v) => s.Accesses = v),
        (s => s.Cr3Loads, (s, v) => s.Cr3Loads = v),
        (s => s.PtWrites, (s, v) => s.PtWrites = v),
        (s => s.Invlpgs, (s, v) => s.Invlpgs = v),
        (s => s.Flushes, (s, v) => s.Flushes = v),
        (s => s.TraceWarnings, (s, v) => s.TraceWarnings = v),
        (s => s.Insns, (s, v) => s.Insns = v),
        (s => s.Instructions, (s, v) => s.Instructions = v),
        (s => s.GuestFaults, (s, v) => s.GuestFaults = v),
        (s => s.TlbMisses, (s, v) => s.TlbMisses = v),
        (s => s.WalkRefs, (s, v) => s.WalkRefs = v),
        (s => s.WalkL1, (s, v) => s.WalkL1 = v),
        (s => s.WalkL2, (s, v) => s.WalkL2 = v),
        (s => s.WalkL3, (s, v) => s.WalkL3 = v),
        (s => s.WalkMem, (s, v) => s.WalkMem = v),
        (s => s.PscHits, (s, v) => s.PscHits = v),
        (s => s.NestedTlbHits, (s, v) => s.NestedTlbHits = v),
        (s => s.Exits, (s, v) => s.Exits = v),
        (s => s.ShadowPagesCreated, (s, v) => s.ShadowPagesCreated = v),
        (s => s.ShadowPagesEvicted, (s, v) => s.ShadowPagesEvicted = v),
        (s => s.EmulatedWrites, (s, v) => s.EmulatedWrites = v),
        (s => s.Unsyncs, (s, v) => s.Unsyncs = v),
        (s => s.Resyncs, (s, v) => s.Resyncs = v),
        (s => s.Unshadows, (s, v) => s.Unshadows = v),
        (s => s.ShadowPages, (s, v) => s.ShadowPages = v),
        (s => s.ShadowPagesPeak, (s, v) => s.ShadowPagesPeak = v),
    ];

    private readonly int _slots = Scalars.Length + (2 * exitKinds) + counters;

    public void Write(BinaryWriter w, WindowResult window)
    {
        var s = window.Stats;
        if (s.ExitCounts.Length != exitKinds || s.Counters.Length != counters)
        {
            throw new ArgumentException($"A window of {s.ExitCounts.Length} exit kinds and {s.Counters.Length} counters in a log of {exitKinds} and {counters}.", nameof(window));
        }

        w.Write7BitEncodedInt64(window.Window);
        w.Write7BitEncodedInt64(window.FirstEvent);
        w.Write7BitEncodedInt64(window.LastEvent);
        w.Write(window.TimeNs.HasValue);
        if (window.TimeNs is long t)
        {
            w.Write7BitEncodedInt64(ZigZag(t));
        }

        int nonZero = 0;
        for (int i = 0; i < _slots; i++)
        {
            nonZero += Slot(s, i) != 0 ? 1 : 0;
        }

        w.Write7BitEncodedInt(nonZero);
        int previous = -1;
        for (int i = 0; i < _slots; i++)
        {
            long v = Slot(s, i);
            if (v != 0)
            {
                w.Write7BitEncodedInt(i - previous);
                w.Write7BitEncodedInt64(ZigZag(v));
                previous = i;
            }
        }
    }

    public WindowResult Read(BinaryReader r)
    {
        long window = r.Read7BitEncodedInt64();
        long first = r.Read7BitEncodedInt64();
        long last = r.Read7BitEncodedInt64();
        long? time = r.ReadBoolean() ? UnZigZag(r.Read7BitEncodedInt64()) : null;
        var s = new EngineStats(exitKinds, counters);
        int nonZero = r.Read7BitEncodedInt();
        int slot = -1;
        for (int k = 0; k < nonZero; k++)
        {
            slot += r.Read7BitEncodedInt();
            long v = UnZigZag(r.Read7BitEncodedInt64());
            if (slot < Scalars.Length)
            {
                Scalars[slot].Set(s, v);
            }
            else if (slot < Scalars.Length + exitKinds)
            {
                s.ExitCounts[slot - Scalars.Length] = v;
            }
            else if (slot < Scalars.Length + (2 * exitKinds))
            {
                s.ExitUnits[slot - Scalars.Length - exitKinds] = v;
            }
            else
            {
                s.Counters[slot - Scalars.Length - (2 * exitKinds)] = v;
            }
        }

        return new WindowResult(window, first, last, time, s);
    }

    private long Slot(EngineStats s, int i) =>
        i < Scalars.Length ? Scalars[i].Get(s)
        : i < Scalars.Length + exitKinds ? s.ExitCounts[i - Scalars.Length]
        : i < Scalars.Length + (2 * exitKinds) ? s.ExitUnits[i - Scalars.Length - exitKinds]
        : s.Counters[i - Scalars.Length - (2 * exitKinds)];

    private static long ZigZag(long v) => (v << 1) ^ (v >> 63);

    private static long UnZigZag(long v) => (long)((ulong)v >> 1) ^ -(v & 1);
}
