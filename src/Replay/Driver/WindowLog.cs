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
/// scalar fields in <see cref="EngineStats.VisitScalars{T}"/>' order, the exit counts, exit units and counters) as a sparse list of
/// (gap to the previous non-zero slot, zigzag value) varints: a window of a few events has few non-zero counts.
/// </summary>
internal sealed class WindowCodec(int exitKinds, int counters)
{
    /// <summary>How many scalars of <see cref="EngineStats"/> a window keeps: its counts and levels, in <see cref="EngineStats.VisitScalars{T}"/>' order.</summary>
    internal static readonly int Scalars = CountScalars();

    private readonly int _slots = Scalars + (2 * exitKinds) + counters;

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

        Span<long> scalars = stackalloc long[Scalars];
        var gather = new Gather(scalars);
        s.VisitScalars(s, ref gather, levels: true);
        int nonZero = 0;
        for (int i = 0; i < _slots; i++)
        {
            nonZero += Slot(s, scalars, i) != 0 ? 1 : 0;
        }

        w.Write7BitEncodedInt(nonZero);
        int previous = -1;
        for (int i = 0; i < _slots; i++)
        {
            long v = Slot(s, scalars, i);
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
        Span<long> scalars = stackalloc long[Scalars];
        int nonZero = r.Read7BitEncodedInt();
        int slot = -1;
        for (int k = 0; k < nonZero; k++)
        {
            slot += r.Read7BitEncodedInt();
            long v = UnZigZag(r.Read7BitEncodedInt64());
            if (slot < Scalars)
            {
                scalars[slot] = v;
            }
            else if (slot < Scalars + exitKinds)
            {
                s.ExitCounts[slot - Scalars] = v;
            }
            else if (slot < Scalars + (2 * exitKinds))
            {
                s.ExitUnits[slot - Scalars - exitKinds] = v;
            }
            else
            {
                s.Counters[slot - Scalars - (2 * exitKinds)] = v;
            }
        }

        var scatter = new Scatter(scalars);
        s.VisitScalars(s, ref scatter, levels: true);
        return new WindowResult(window, first, last, time, s);
    }

    private static int CountScalars()
    {
        var count = new Count();
        var none = new EngineStats(0, 0);
        none.VisitScalars(none, ref count, levels: true);
        return count.Fields;
    }

    private long Slot(EngineStats s, ReadOnlySpan<long> scalars, int i) =>
        i < Scalars ? scalars[i]
        : i < Scalars + exitKinds ? s.ExitCounts[i - Scalars]
        : i < Scalars + (2 * exitKinds) ? s.ExitUnits[i - Scalars - exitKinds]
        : s.Counters[i - Scalars - (2 * exitKinds)];

    private static long ZigZag(long v) => (v << 1) ^ (v >> 63);

    private static long UnZigZag(long v) => (long)((ulong)v >> 1) ^ -(v & 1);

    private struct Count : IStatsVisitor
    {
        public int Fields;

        public void Visit(ref long mine, long other) => Fields++;
    }

    private ref struct Gather(Span<long> values) : IStatsVisitor
    {
        private readonly Span<long> _values = values;
        private int _next;

        public void Visit(ref long mine, long other) => _values[_next++] = mine;
    }

    private ref struct Scatter(ReadOnlySpan<long> values) : IStatsVisitor
    {
        private readonly ReadOnlySpan<long> _values = values;
        private int _next;

        public void Visit(ref long mine, long other) => mine = _values[_next++];
    }
}
