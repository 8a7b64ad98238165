using Replay.Engines.Trace;

namespace Replay.Import;

/// <summary>
/// Imports lackey / cache-lab files: each file is one process of the guest, the files take turns on the
/// vCPUs round-robin, <see cref="ImportOptions.Slice"/> records per turn (file i always on vCPU i mod vCPUs).
/// A <c>mark</c> with id i+1 starts file i's first turn. <c>M</c> is a load then a store of the same bytes.
/// Every <c>I</c> line is a <c>fetch</c> (insns 0), except one skipped as bad (<c>--skip-bad</c>), which still
/// counts as an instruction: it is retired as <c>insns</c> on the vCPU's next event.
/// </summary>
public sealed class LackeyImporter
{
    private readonly IReadOnlyList<string> _files;
    private readonly ImportOptions _options;

    public LackeyImporter(IReadOnlyList<string> files, ImportOptions options)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Slice, 1);
        _files = files;
        _options = options;
    }

    /// <summary>Marker id → label: file i (0-based) starts at marker i+1, labelled with its file name.</summary>
    public IReadOnlyDictionary<ulong, string> Markers =>
        _files.Select((f, i) => (Id: (ulong)i + 1, Label: Path.GetFileName(f))).ToDictionary(m => m.Id, m => m.Label);

    /// <summary>Reads every file to its end (or the limit) and drives <paramref name="host"/>.</summary>
    public ImportStats Run(IProcessHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var stats = new ImportStats { Threads = _files.Count, Processes = _files.Count };
        var readers = new List<LackeyReader>();
        _options.Progress?.Start(_files.Count == 1 ? Path.GetFileName(_files[0]) : $"{_files.Count} files", ImportProgress.SizeOf(_files));
        try
        {
            foreach (string f in _files)
            {
                readers.Add(LackeyReader.Open(f, _options.SkipBad, _options.Progress));
            }

            RoundRobin(host, readers, stats);
            stats.BadRecords += readers.Sum(r => r.BadLines);
            stats.RequireRecords(string.Join(", ", _files));
        }
        finally
        {
            readers.ForEach(r => r.Dispose());
        }

        stats.Events = host.Events;
        return stats;
    }

    private void RoundRobin(IProcessHost host, List<LackeyReader> readers, ImportStats stats)
    {
        int[] process = readers.Select(_ => host.CreateProcess()).ToArray();
        var started = new bool[readers.Count];
        var active = Enumerable.Range(0, readers.Count).ToList();
        long limit = _options.Limit ?? long.MaxValue;
        int turn = 0;
        while (active.Count > 0)
        {
            int f = active[turn];
            int vcpu = f % host.Vcpus;
            LackeyReader reader = readers[f];
            bool running = false;
            bool ended = false;
            for (long n = 0; n < _options.Slice; n++)
            {
                if (stats.Records >= limit)
                {
                    return;
                }

                if (!reader.TryRead(out AccessRecord r))
                {
                    ended = true;
                    break;
                }

                bool inUserSpace = UserSpace.Contains(r.Address, r.Size);
                if (!inUserSpace)
                {
                    stats.BadRecords += _options.SkipBad
                        ? 1
                        : throw new ImportFormatException($"{reader.Name}:{reader.Line}: address 0x{r.Address:x} ({r.Size} bytes) is outside the user address range (below 0x{UserSpace.Top:x}).");
                    if (r.Kind != RecordKind.Fetch)
                    {
                        continue;
                    }
                }

                if (!running)
                {
                    if (!started[f])
                    {
                        host.Mark((ulong)f + 1);
                        started[f] = true;
                    }

                    host.Run(vcpu, process[f]);
                    running = true;
                }

                if (inUserSpace)
                {
                    Apply(host, vcpu, r, stats);
                }
                else
                {
                    // A skipped I line was still an instruction: it rides as insns on the vCPU's next event.
                    host.Retire(vcpu, 1);
                    stats.Insns++;
                }
            }

            if (ended)
            {
                host.Exit(process[f]);
                active.RemoveAt(turn);
            }
            else
            {
                turn++;
            }

            if (turn >= active.Count)
            {
                turn = 0;
            }
        }
    }

    private static void Apply(IProcessHost host, int vcpu, AccessRecord r, ImportStats stats)
    {
        switch (r.Kind)
        {
            case RecordKind.Fetch:
                host.Access(vcpu, TraceOp.Fetch, r.Address, r.Size);
                stats.Fetches++;
                break;
            case RecordKind.Load:
                host.Access(vcpu, TraceOp.Read, r.Address, r.Size);
                stats.Loads++;
                break;
            case RecordKind.Store:
                host.Access(vcpu, TraceOp.Write, r.Address, r.Size);
                stats.Stores++;
                break;
            default:
                host.Access(vcpu, TraceOp.Read, r.Address, r.Size);
                host.Access(vcpu, TraceOp.Write, r.Address, r.Size);
                stats.Modifies++;
                break;
        }
    }
}
