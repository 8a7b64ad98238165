using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Replay.Analysis.Reports;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Registry;
using Replay.Engines.Tlb;
using Replay.Engines.Trace;
using Replay.Trace;

namespace Replay.Driver;

/// <summary>What to replay and how.</summary>
/// <param name="Skippable">
/// Canonical names of engines the user did not name themselves (they came from <c>all</c>): one that cannot
/// replay the trace (<see cref="EngineSpec.CannotReplay"/>) is skipped with a note. Any other such engine is an
/// <see cref="EngineCannotReplayException"/>.
/// </param>
/// <param name="CheckPrices">Called with each engine's exit kinds once the engines exist, before anything replays: a profile
/// that cannot price one throws there, not after the whole trace.</param>
public sealed record ReplayRequest(string TracePath, IReadOnlyList<EngineSpec> Engines, TlbGeometry Tlb,
    long Window = 1_000_000, bool Verify = false, bool Strict = false, IReadOnlySet<string>? Skippable = null,
    Action<IReadOnlyList<ExitKind>>? CheckPrices = null);

/// <summary>A replayed trace: the results for the reports plus what the checker found, and the engines skipped (name, why).</summary>
/// <summary>A progress sink that is also told how many events its fractions are of, so it can show a rate.</summary>
public interface IEventProgress : IProgress<double>
{
    /// <summary>Events the fraction 1.0 stands for.</summary>
    long Total { set; }
}

public sealed record ReplayOutcome(TraceRunResult Result, TraceInfo Info, long Warnings,
    IReadOnlyList<(long Row, string Message)> FirstWarnings, double WallSeconds, IReadOnlyList<(string Engine, string Reason)> Skipped);

/// <summary>
/// Replays one trace through several engines at once. The trace is read once, a row group at a time into a few
/// reused batches (see <see cref="PipelineAsync"/>); each batch is checked, cut into segments at phase marks and
/// timeline-window edges, and replayed by every engine on its own thread. Native always runs (reported only when
/// asked for) so overheads are measured in the same run.
/// </summary>
public static class ReplayDriver
{
    public static async Task<ReplayOutcome> RunAsync(ReplayRequest req, IProgress<double>? progress = null, CancellationToken ct = default)
    {
        var wall = Stopwatch.StartNew();
        await using var reader = await TraceReader.OpenAsync(req.TracePath, ct).ConfigureAwait(false);
        var hashTask = Task.Run(() => reader.Sha256(ct), ct);
        try
        {
            return await RunAsync(req, reader, hashTask, wall, progress, ct).ConfigureAwait(false);
        }
        finally
        {
            await Task.WhenAny(hashTask).ConfigureAwait(false); // the hash reads through the reader's handle
        }
    }

    private static async Task<ReplayOutcome> RunAsync(ReplayRequest req, TraceReader reader, Task<string> hashTask, Stopwatch wall,
        IProgress<double>? progress, CancellationToken ct)
    {
        var info = reader.Info;
        var config = new MachineConfig(info.Vcpus, info.MemoryBytes, info.PagingLevels, info.Pcid, req.Tlb) { Pressure = info.Pressure };

        // An engine whose real system never runs this guest is refused before anything replays: skipped when it
        // only came from 'all', an error (nothing is written) when the user named it.
        var skipped = new List<(string Engine, string Reason)>();
        var runs = new List<EngineRun>();
        foreach (var spec in req.Engines)
        {
            if (spec.CannotReplay(config) is { } why)
            {
                if (req.Skippable?.Contains(spec.CanonicalName) != true)
                {
                    throw new EngineCannotReplayException($"{Path.GetFileName(req.TracePath)}: {why}");
                }

                skipped.Add((spec.CanonicalName, why));
                continue;
            }

            runs.Add(new EngineRun(spec, spec.Create(config), reported: true));
        }

        if (!runs.Any(r => r.Spec.IsNative))
        {
            var native = EngineRegistry.Parse(EngineRegistry.NativeName);
            runs.Add(new EngineRun(native, native.Create(config), reported: false));
        }

        foreach (var run in runs)
        {
            req.CheckPrices?.Invoke(run.Engine.ExitKinds);
        }

        var checker = new TraceChecker(Path.GetFileName(req.TracePath), info, req.Strict);
        if (progress is IEventProgress events)
        {
            events.Total = reader.RowCount;
        }

        long done = await PipelineAsync(reader, checker, req, info, runs, progress, ct).ConfigureAwait(false);

        long lastEvent = done - 1;
        foreach (var run in runs)
        {
            run.AfterSegment();
            run.EndPhase();
            run.EndWindow(lastEvent / req.Window, lastEvent, run.LastTime);
        }

        string sha = await hashTask.ConfigureAwait(false);
        var result = new TraceRunResult(Path.GetFileName(req.TracePath), sha, runs.Select(r => r.ToResult()).ToList());
        return new ReplayOutcome(result, info, checker.Warnings, checker.FirstWarnings, wall.Elapsed.TotalSeconds, skipped);
    }

    /// <summary>Batches in flight at once: each engine may run that many row groups behind the reader, or ahead of the slowest engine.</summary>
    private const int InFlight = 3;

    /// <summary>
    /// The pipeline: the reader decodes and checks row groups, in trace order, into a pool of <see cref="InFlight"/>
    /// batches; every engine replays them in order on a thread of its own, and a batch goes back to the pool when the
    /// last engine is done with it. Engines never wait for each other at batch boundaries, so the cores stay busy
    /// with whichever engine is behind. Returns the events replayed. The first error in trace order wins: an engine's
    /// error on an earlier batch over the reader's on a later one; nothing is written here, so none leaves a report.
    /// </summary>
    private static async Task<long> PipelineAsync(TraceReader reader, TraceChecker checker, ReplayRequest req, TraceInfo info,
        List<EngineRun> runs, IProgress<double>? progress, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pool = Channel.CreateBounded<Staged>(InFlight);
        for (int i = 0; i < InFlight; i++)
        {
            pool.Writer.TryWrite(new Staged());
        }

        var queues = runs.Select(_ => Channel.CreateUnbounded<Staged>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true })).ToArray();
        long done = 0;
        var failures = new (long Batch, Exception Error)?[runs.Count];
        var engines = new Task[runs.Count];
        for (int e = 0; e < runs.Count; e++)
        {
            int me = e;
            engines[e] = Task.Factory.StartNew(() =>
            {
                var queue = queues[me].Reader;
                long index = 0;
                try
                {
                    while (queue.WaitToReadAsync(stop.Token).AsTask().GetAwaiter().GetResult())
                    {
                        while (queue.TryRead(out var s))
                        {
                            Replay(runs[me], s.Batch, s.Segments, req.Verify);
                            index++;
                            if (Interlocked.Decrement(ref s.Pending) == 0)
                            {
                                long total = Interlocked.Add(ref done, s.Batch.Count);
                                progress?.Report(reader.RowCount == 0 ? 1 : total / (double)reader.RowCount);
                                pool.Writer.TryWrite(s);
                            }
                        }
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // another engine failed, or the caller cancelled
                }
                catch (Exception error)
                {
                    failures[me] = (index, error is VerifyException v ? v.Named(runs[me].Spec.CanonicalName) : error);
                    stop.Cancel();
                }
            }, stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        Exception? readError = null;
        try
        {
            while (true)
            {
                var s = await pool.Reader.ReadAsync(stop.Token).ConfigureAwait(false);
                if (!await s.LoadAsync(reader, checker, req.Window, info, stop.Token).ConfigureAwait(false))
                {
                    break;
                }

                s.Pending = runs.Count;
                foreach (var q in queues)
                {
                    q.Writer.TryWrite(s);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // an engine failed: its error is the one to report
        }
        catch (Exception e)
        {
            readError = e; // the engines still replay every batch before it, where an earlier error may lie
        }
        finally
        {
            foreach (var q in queues)
            {
                q.Writer.TryComplete();
            }
        }

        await Task.WhenAll(engines).ConfigureAwait(false);
        if (failures.Where(f => f is not null).OrderBy(f => f!.Value.Batch).Select(f => f!.Value.Error).FirstOrDefault() is { } engineError)
        {
            ExceptionDispatchInfo.Throw(engineError);
        }

        if (readError is not null)
        {
            ExceptionDispatchInfo.Throw(readError);
        }

        ct.ThrowIfCancellationRequested();
        return done;
    }

    /// <summary>Cuts the batch at marks and window edges, checking each piece and tallying its events.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Segmentize(EventBatch b, long window, TraceInfo info, TraceChecker checker, List<Segment> segments)
    {
        segments.Clear();
        int start = 0;
        for (int i = 1; i <= b.Count; i++)
        {
            bool edge = i == b.Count
                || b.Op[i] == (byte)TraceOp.Mark || (b.FirstRow + i) % window == 0;
            if (!edge)
            {
                continue;
            }

            var s = new Segment { Start = start, End = i };
            s.Warnings = checker.Check(b, start, i);
            for (int k = start; k < i; k++)
            {
                switch (b.Op[k])
                {
                    case (byte)TraceOp.Read or (byte)TraceOp.Write: s.Accesses++; break;
                    case (byte)TraceOp.Fetch: s.Accesses++; s.Fetches++; break;
                    case (byte)TraceOp.Cr3: s.Cr3++; break;
                    case (byte)TraceOp.PtWrite: s.PtWrites++; break;
                    case (byte)TraceOp.Invlpg: s.Invlpgs++; break;
                    case (byte)TraceOp.Flush: s.Flushes++; break;
                }
            }

            s.Insns = b.SumInsns(start, i);
            long firstRow = b.FirstRow + start;
            s.WindowEdge = firstRow % window == 0 && firstRow > 0;
            s.Window = firstRow / window;
            if (b.Op[start] == (byte)TraceOp.Mark)
            {
                ulong id = b.Value[start];
                s.Phase = info.Markers.TryGetValue(id, out var label) ? label : $"mark {id}";
            }

            s.LastTime = b.HasTime ? b.Time[i - 1] : null;
            segments.Add(s);
            start = i;
        }
    }

    private static void Replay(EngineRun run, EventBatch b, List<Segment> segments, bool verify)
    {
        foreach (ref readonly var s in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(segments))
        {
            if (s.WindowEdge)
            {
                long first = b.FirstRow + s.Start;
                run.EndWindow(s.Window - 1, first - 1, run.LastTime);
            }

            if (s.Phase is not null)
            {
                run.StartPhase(s.Phase);
            }

            long t0 = ThreadClock.Now();
            run.Engine.Run(b, s.Start, s.End, verify);
            run.Ticks += ThreadClock.Now() - t0;
            var st = run.Stats;
            st.Events += s.End - s.Start;
            st.Accesses += s.Accesses;
            st.Cr3Loads += s.Cr3;
            st.PtWrites += s.PtWrites;
            st.Invlpgs += s.Invlpgs;
            st.Flushes += s.Flushes;
            st.TraceWarnings += s.Warnings;
            st.Insns += s.Insns;
            st.Instructions += s.Fetches + s.Insns;
            run.LastTime = s.LastTime;
            run.AfterSegment();
        }
    }

    /// <summary>A batch and its checked segments, refilled batch after batch.</summary>
    private sealed class Staged
    {
        /// <summary>Engines that have yet to replay the batch.</summary>
        public int Pending;

        public EventBatch Batch { get; } = new(1 << 16);

        public List<Segment> Segments { get; } = [];

        public async Task<bool> LoadAsync(TraceReader reader, TraceChecker checker, long window, TraceInfo info, CancellationToken ct)
        {
            if (!await reader.ReadNextAsync(Batch, ct).ConfigureAwait(false))
            {
                return false;
            }

            Segmentize(Batch, window, info, checker, Segments);
            return true;
        }
    }

    private struct Segment
    {
        public int Start;
        public int End;
        public int Warnings;
        public long Accesses;
        public long Cr3;
        public long PtWrites;
        public long Invlpgs;
        public long Flushes;
        public long Fetches;
        public long Insns;
        public bool WindowEdge;
        public long Window;
        public string? Phase;
        public long? LastTime;
    }
}
