using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Replay.Analysis.Reports;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Registry;
using Replay.Engines.Tlb;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Driver;

/// <summary>What to replay and how.</summary>
/// <param name="Skippable">
/// Canonical names of engines the user did not name themselves (they came from <c>all</c>): one that cannot
/// replay the trace (<see cref="EngineSpec.CannotReplay"/>) is skipped with a note. Any other such engine is an
/// <see cref="EngineCannotReplayException"/>.
/// </param>
/// <param name="CheckPrices">Called with each engine's exit kinds once the engines exist, before anything replays: a profile
/// that cannot price one throws there, not after the whole trace.</param>
/// <param name="Skip">
/// <c>--skip N</c>: trace rows 0 to N-1 replay no access (read, write, fetch), like drcachesim's <c>-skip_refs</c>;
/// every other row among them (ptinit, ptwrite, ptdying, cr3, invlpg, flush, mark) is still replayed by every engine,
/// so the guest's page tables, the loaded roots and the current phase are those of the trace at row N, while TLBs,
/// caches and shadows hold nothing a skipped access would have made. Nothing in them is counted.
/// </param>
/// <param name="Warmup">
/// <c>--warmup N</c>: the next N rows are replayed in full by every engine (TLBs, paging-structure caches and shadows
/// warm up, like drcachesim's <c>-warmup_refs</c>) but counted in no report metric.
/// </param>
/// <param name="Limit"><c>--limit N</c>: stop after N counted rows (drcachesim's <c>-sim_refs</c>); null = to the end.</param>
/// <param name="WindowSpill">
/// A folder each engine writes its timeline windows to as they close, so memory does not grow with the number of
/// windows (<c>--window 1</c>); the results read them back from there, so the folder must outlive them (the run
/// command gives its report folder's scratch folder). Null keeps the windows in memory.
/// </param>
public sealed record ReplayRequest(string TracePath, IReadOnlyList<EngineSpec> Engines, TlbGeometry Tlb,
    long Window = 1_000_000, bool Verify = false, bool Strict = false, IReadOnlySet<string>? Skippable = null,
    Action<IReadOnlyList<ExitKind>>? CheckPrices = null, long Skip = 0, long Warmup = 0, long? Limit = null,
    string? WindowSpill = null)
{
    /// <summary>The first counted row: rows before it are skipped or warm-up.</summary>
    public long CountFrom => Skip > long.MaxValue - Warmup ? long.MaxValue : Skip + Warmup;

    /// <summary>One past the last row read: <see cref="CountFrom"/> plus <see cref="Limit"/>, or the whole trace.</summary>
    public long End => Limit is { } n && n <= long.MaxValue - CountFrom ? CountFrom + n : long.MaxValue;
}

/// <summary>A replayed trace: the results for the reports plus what the checker found, and the engines skipped (name, why).</summary>
/// <summary>A progress sink that is also told how many events its fractions are of, so it can show a rate.</summary>
public interface IEventProgress : IProgress<double>
{
    /// <summary>Events the fraction 1.0 stands for.</summary>
    long Total { set; }
}

/// <param name="Counted">Rows counted in the results: the rows read less those <c>--skip</c> and <c>--warmup</c> left uncounted.</param>
public sealed record ReplayOutcome(TraceRunResult Result, TraceInfo Info, long Warnings,
    IReadOnlyList<(long Row, string Message)> FirstWarnings, double WallSeconds, IReadOnlyList<(string Engine, string Reason)> Skipped,
    long Counted = 0);

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

            runs.Add(NewRun(spec, spec.Create(config), reported: true, req));
        }

        if (!runs.Any(r => r.Spec.IsNative))
        {
            var native = EngineRegistry.Parse(EngineRegistry.NativeName);
            runs.Add(NewRun(native, native.Create(config), reported: false, req));
        }

        try
        {
            return await ReplayAsync(req, reader, hashTask, wall, progress, info, skipped, runs, ct).ConfigureAwait(false);
        }
        catch
        {
            runs.ForEach(r => r.Abandon()); // no result holds their windows
            throw;
        }
    }

    private static EngineRun NewRun(EngineSpec spec, IMmuEngine engine, bool reported, ReplayRequest req) =>
        new(spec, engine, reported, req.WindowSpill is { } folder
            ? WindowLog.Spilled(folder, engine.ExitKinds.Count, engine.CounterNames.Count)
            : WindowLog.InMemory());

    private static async Task<ReplayOutcome> ReplayAsync(ReplayRequest req, TraceReader reader, Task<string> hashTask, Stopwatch wall,
        IProgress<double>? progress, TraceInfo info, List<(string Engine, string Reason)> skipped, List<EngineRun> runs, CancellationToken ct)
    {
        foreach (var run in runs)
        {
            req.CheckPrices?.Invoke(run.Engine.ExitKinds);
        }

        var checker = new TraceChecker(Path.GetFileName(req.TracePath), info, req.Strict);
        if (progress is IEventProgress events)
        {
            events.Total = Math.Min(reader.RowCount, req.End);
        }

        long done = await PipelineAsync(reader, checker, req, info, runs, progress, ct).ConfigureAwait(false);

        long lastEvent = done - 1;
        foreach (var run in runs)
        {
            if (req.CountFrom > 0 && done <= req.CountFrom)
            {
                // The trace ended within --skip and --warmup: nothing is counted, not even the phase it ended in.
                run.AfterSegment();
                run.EndPhase();
                run.StartCounting(done);
            }

            run.AfterSegment();
            run.EndPhase();
            run.EndWindow(lastEvent / req.Window, lastEvent, run.LastTime);
        }

        string sha = await hashTask.ConfigureAwait(false);
        var result = new TraceRunResult(Path.GetFileName(req.TracePath), sha, runs.Select(r => r.ToResult()).ToList());
        return new ReplayOutcome(result, info, checker.Warnings, checker.FirstWarnings, wall.Elapsed.TotalSeconds, skipped,
            Math.Max(0, done - req.CountFrom));
    }

    /// <summary>Batches in flight at once: each engine may run that many row groups behind the reader, or ahead of the slowest engine.</summary>
    private const int InFlight = 3;

    /// <summary>
    /// The pipeline: the reader decodes and checks row groups, in trace order, into a pool of <see cref="InFlight"/>
    /// batches; every engine replays them in order on a thread of its own, and a batch goes back to the pool when the
    /// last engine is done with it. Engines never wait for each other at batch boundaries, so the cores stay busy
    /// with whichever engine is behind. Returns the events replayed. The first error in trace order wins: an engine's
    /// error on an earlier batch over the reader's on a later one; nothing is written here, so none leaves a report.
    /// Which engine's error that is does not depend on timing: after a failure the reader stops, but every engine
    /// still replays each batch up to the earliest failed one (<see cref="FirstFailure"/>), so all the engines that
    /// fail in that batch are known whatever order the threads ran in.
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
        long rows = Math.Min(reader.RowCount, req.End);
        var failures = new (long Batch, Exception Error)?[runs.Count];
        long failedBatch = long.MaxValue; // the earliest batch an engine failed in
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
                    while (queue.WaitToReadAsync(ct).AsTask().GetAwaiter().GetResult())
                    {
                        while (queue.TryRead(out var s))
                        {
                            if (index > Interlocked.Read(ref failedBatch))
                            {
                                return; // an engine failed in an earlier batch: nothing after it counts
                            }

                            Replay(runs[me], s.Batch, s.Segments, req.Verify);
                            index++;
                            if (Interlocked.Decrement(ref s.Pending) == 0)
                            {
                                long total = Interlocked.Add(ref done, s.Batch.Count);
                                progress?.Report(rows == 0 ? 1 : total / (double)rows);
                                pool.Writer.TryWrite(s);
                            }
                        }
                    }
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    // the caller cancelled
                }
                catch (Exception error)
                {
                    failures[me] = (index, error);
                    for (long seen = Interlocked.Read(ref failedBatch); index < seen; seen = Interlocked.Read(ref failedBatch))
                    {
                        Interlocked.CompareExchange(ref failedBatch, index, seen);
                    }

                    stop.Cancel(); // the reader stops; the other engines finish the batches up to this one
                }
            }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        Exception? readError = null;
        try
        {
            while (true)
            {
                var s = await pool.Reader.ReadAsync(stop.Token).ConfigureAwait(false);
                if (!await s.LoadAsync(reader, checker, req, info, stop.Token).ConfigureAwait(false))
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
        if (FirstFailure(failures, runs) is { } engineError)
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

    /// <summary>
    /// The error to report among the engines' (<paramref name="failures"/>, by engine, with the batch each failed in): of
    /// those in the earliest batch, the first in trace order (a --verify failure's event), ties going to the first in
    /// <c>--engine</c> order; a --verify failure names its engine and the others that failed --verify in that batch.
    /// </summary>
    private static Exception? FirstFailure((long Batch, Exception Error)?[] failures, List<EngineRun> runs)
    {
        var failed = Enumerable.Range(0, runs.Count).Where(e => failures[e] is not null).ToList();
        if (failed.Count == 0)
        {
            return null;
        }

        long batch = failed.Min(e => failures[e]!.Value.Batch);
        var first = failed.Where(e => failures[e]!.Value.Batch == batch)
            .OrderBy(e => failures[e]!.Value.Error is VerifyException v ? v.EventIndex : long.MaxValue)
            .ThenBy(e => e)
            .ToList();
        Exception error = failures[first[0]]!.Value.Error;
        if (error is not VerifyException verify)
        {
            return error;
        }

        var others = first.Skip(1).Where(e => failures[e]!.Value.Error is VerifyException).Select(e => runs[e].Spec.CanonicalName).ToList();
        return verify.Named(runs[first[0]].Spec.CanonicalName, others);
    }

    /// <summary>
    /// Cuts the batch at marks, window edges and the <c>--skip</c>/<c>--warmup</c> boundaries, checking each piece and
    /// tallying its events. Below <paramref name="skip"/> it also cuts where accesses start or stop, so a piece of
    /// accesses there can be left out (<see cref="Segment.Skipped"/>) while the page-table ops around it replay.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Segmentize(EventBatch b, long window, long skip, long countFrom, TraceInfo info, TraceChecker checker, List<Segment> segments)
    {
        segments.Clear();
        int start = 0;
        bool vcpus = info.Vcpus > 1; // a segment is one vCPU's, so its counts are that vCPU's (EngineRun.AttributeTo)
        for (int i = 1; i <= b.Count; i++)
        {
            long row = b.FirstRow + i;
            bool edge = i == b.Count
                || b.Op[i] == (byte)TraceOp.Mark || row % window == 0
                || row == countFrom || row == skip
                || (row < skip && IsAccess(b.Op[i]) != IsAccess(b.Op[i - 1]))
                || (vcpus && b.Vcpu[i] != b.Vcpu[i - 1]);
            if (!edge)
            {
                continue;
            }

            long firstRow = b.FirstRow + start;
            var s = new Segment
            {
                Start = start,
                End = i,
                Skipped = firstRow < skip && IsAccess(b.Op[start]),
                CountStart = firstRow == countFrom && countFrom > 0,
                Vcpu = b.Vcpu[start],
            };
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

    private static bool IsAccess(byte op) => op <= (byte)TraceOp.Fetch;

    private static void Replay(EngineRun run, EventBatch b, List<Segment> segments, bool verify)
    {
        // The thread's CPU time is read once per batch, not per segment: a trace whose vCPUs alternate every few dozen
        // events has a segment per vCPU stretch, and two clock_gettime calls per segment cost more than the replay.
        long t0 = ThreadClock.Now();
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

            if (s.CountStart)
            {
                run.StartCounting(b.FirstRow + s.Start);
            }

            if (s.Skipped)
            {
                // --skip: these accesses are not replayed (see ReplayRequest.Skip); nothing before the count starts is counted
                run.LastTime = s.LastTime;
                continue;
            }

            run.AttributeTo(s.Vcpu);
            run.Engine.Run(b, s.Start, s.End, verify);
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

        run.Ticks += ThreadClock.Now() - t0;
    }

    /// <summary>A batch and its checked segments, refilled batch after batch.</summary>
    private sealed class Staged
    {
        /// <summary>Engines that have yet to replay the batch.</summary>
        public int Pending;

        public EventBatch Batch { get; } = new(1 << 16);

        public List<Segment> Segments { get; } = [];

        public async Task<bool> LoadAsync(TraceReader reader, TraceChecker checker, ReplayRequest req, TraceInfo info, CancellationToken ct)
        {
            if (!await reader.ReadNextAsync(Batch, ct).ConfigureAwait(false) || Batch.FirstRow >= req.End)
            {
                return false;
            }

            if (Batch.FirstRow + Batch.Count > req.End)
            {
                Batch.Count = (int)(req.End - Batch.FirstRow); // --limit: the rows after the last counted one are not read
            }

            Segmentize(Batch, req.Window, req.Skip, req.CountFrom, info, checker, Segments);
            return true;
        }
    }

    private struct Segment
    {
        public int Start;
        public int End;
        public int Warnings;

        // Counts within one batch, so each fits an int: at --window 1 a batch holds a segment per row, and the
        // batches in flight are what the run's memory is made of (issue 15).
        public int Accesses;
        public int Cr3;
        public int PtWrites;
        public int Invlpgs;
        public int Flushes;
        public int Fetches;
        public long Insns;
        public bool WindowEdge;

        /// <summary>Accesses below <c>--skip</c>: not replayed.</summary>
        public bool Skipped;

        /// <summary>The first counted row (after <c>--skip</c> and <c>--warmup</c>) starts this segment.</summary>
        public bool CountStart;

        /// <summary>The vCPU of every row of the segment (cut where it changes).</summary>
        public int Vcpu;
        public long Window;
        public string? Phase;
        public long? LastTime;
    }
}
