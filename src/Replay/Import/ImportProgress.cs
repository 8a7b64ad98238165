using Replay.Cli;
using Replay.TraceIO;

namespace Replay.Import;

/// <summary>
/// An import's progress on the same bar as <c>run</c> and <c>gen</c> (<see cref="ProgressBar"/>: stderr, drawn only on
/// a terminal), measured as <c>pv</c> measures a stream: the input bytes read so far of the input's size (for a zip,
/// its compressed bytes), so the rate is bytes/s and the time left follows. An importer that reads its input whole
/// first and then works through it in memory (ETW) reports its items instead (<see cref="Start"/> with its unit). A
/// pass starts the bar, its clock and its total again; an importer that reads its input twice (xentrace, for the
/// measured report and for the trace) shows each pass under its own label.
/// </summary>
internal sealed class ImportProgress(ProgressBar bar)
{
    private long _total;
    private long _done;
    private long _next;
    private long _step;

    /// <summary>The summed size of <paramref name="files"/> (a folder: the files in it, recursively).</summary>
    public static long SizeOf(IEnumerable<string> files) => files.Sum(f =>
        File.Exists(f) ? new FileInfo(f).Length
        : Directory.Exists(f) ? Directory.EnumerateFiles(f, "*", SearchOption.AllDirectories).Sum(x => new FileInfo(x).Length)
        : 0);

    /// <summary>Starts a pass over <paramref name="total"/> units (bytes unless said) labelled <paramref name="label"/>.</summary>
    public void Start(string label, long total, string unit = "bytes")
    {
        bar.Label = label;
        bar.Unit = unit;
        bar.Total = total;
        _total = Math.Max(total, 1);
        _done = 0;
        _step = Math.Max(1, total / 1000); // a report per 0.1%: the bar redraws per whole percent
        _next = _step;
    }

    /// <summary>Units read in this pass so far.</summary>
    public long Completed => Interlocked.Read(ref _done);

    /// <summary><paramref name="units"/> more read (bytes, or items).</summary>
    public void Advance(long units)
    {
        long done = Interlocked.Add(ref _done, units);
        if (done >= Volatile.Read(ref _next))
        {
            Volatile.Write(ref _next, done + _step);
            bar.Report(Math.Min(1.0, (double)done / _total));
        }
    }

    /// <summary><paramref name="inner"/>, its reads counted as this pass's progress.</summary>
    public Stream Counting(Stream inner) => new CountingStream(inner, this);

    /// <summary>The pass is over: the bar is cleared.</summary>
    public void Done() => bar.Done();

    /// <summary>A read-only pass-through stream that counts the bytes read (seeks, as a zip reader makes, pass through).</summary>
    private sealed class CountingStream(Stream inner, ImportProgress progress) : ReadOnlyStream(inner)
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => inner.CanSeek;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int ReadByte()
        {
            int b = inner.ReadByte();
            Counted(b < 0 ? 0 : 1);
            return b;
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        private int Counted(int n)
        {
            progress.Advance(n);
            return n;
        }
    }
}
