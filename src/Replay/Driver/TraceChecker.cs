using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Driver;

/// <summary>A rule of SPEC §1 broken by the trace; with <c>--strict</c> the first one stops the run.</summary>
public sealed class TraceWarningException(string message) : Exception(message);

/// <summary>
/// Checks the well-formedness rules of SPEC §1 once per trace, ahead of the engines, and makes every va
/// canonical (sign-extended) so engines see what hardware would. Rules checked:
/// non-canonical va; <c>flush</c> value other than 0/1; CR3 bit 63 with PCID off; a <c>ptwrite</c> crossing
/// an 8-byte word; <c>time</c> going backwards on a vCPU; and TLB coherence: after a <c>ptwrite</c> that removes
/// or narrows a present entry of a live hierarchy, a vCPU that may cache translations of that hierarchy must see
/// an INVLPG of the va, a flush or a CR3 load before it touches the va again. For the last rule the checker keeps
/// its own copy of guest page-table memory and an inverse page table (child table → the entries that point to
/// it), so it can tell which va range a written entry maps without walking anything per access. What a vCPU may
/// cache follows the architecture (Intel SDM Vol. 3 §4.10): per PCID, the roots loaded under it since that PCID
/// was last flushed (without PCID: only the current root); a pending range belongs to one PCID and only an
/// access, INVLPG, flush or flushing CR3 load under that PCID concerns it (global ranges concern every PCID).
/// A vCPU number beyond the declared count is an error, not a warning.
/// </summary>
public sealed class TraceChecker
{
    private const int MaxPaths = 64;
    private readonly string _file;
    private readonly int _vcpus;
    private readonly int _levels;
    private readonly bool _pcid;
    private readonly bool _strict;
    private readonly GuestMemory _mem = new();
    private readonly Dictionary<ulong, List<ulong>> _parents = new(); // child table frame -> entry addresses pointing at it
    private readonly HashSet<ulong> _roots = new();                  // frames ever loaded as a root
    private readonly List<(ushort Pcid, ulong Root)>[] _cached;        // per vCPU: (PCID, root) whose translations it may cache
    private readonly ulong[] _curRoot;
    private readonly ushort[] _curPcid;
    private readonly PendingRanges[] _pending;
    private readonly long[] _lastTime;
    private readonly List<(long Row, string Message)> _first = [];
    private readonly List<(ulong Va, ulong Root)> _paths = [];
    private readonly ulong _memoryBytes;
    private readonly HashSet<ulong> _emptyRootsWarned = new();
    private bool _metadataChecked;

    /// <summary>The least guest memory a trace may declare: below a mebibyte no guest kernel fits.</summary>
    public const ulong MinMemoryBytes = 1 << 20;

    public TraceChecker(string file, TraceInfo info, bool strict)
    {
        _file = file;
        _vcpus = info.Vcpus;
        _levels = info.PagingLevels;
        _pcid = info.Pcid;
        _strict = strict;
        _pending = Enumerable.Range(0, _vcpus).Select(_ => new PendingRanges()).ToArray();
        _lastTime = Enumerable.Repeat(long.MinValue, _vcpus).ToArray();
        _cached = Enumerable.Range(0, _vcpus).Select(_ => new List<(ushort, ulong)>()).ToArray();
        _curRoot = Enumerable.Repeat(ulong.MaxValue, _vcpus).ToArray();
        _curPcid = new ushort[_vcpus];
        _memoryBytes = info.MemoryBytes;
    }

    /// <summary>Total warnings so far.</summary>
    public long Warnings { get; private set; }

    /// <summary>The first few warnings (row and text), for <c>inspect</c> and the summary.</summary>
    public IReadOnlyList<(long Row, string Message)> FirstWarnings => _first;

    /// <summary>Checks events [start, end) of the batch; returns how many warnings they raised.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public int Check(EventBatch b, int start, int end)
    {
        int warnings = 0;
        if (!_metadataChecked && end > start)
        {
            _metadataChecked = true;
            warnings += CheckMetadata(b.FirstRow + start);
        }

        int vaBits = _levels == 5 ? 57 : 48;
        for (int i = start; i < end; i++)
        {
            long row = b.FirstRow + i;
            int vcpu = b.Vcpu[i];
            if (vcpu >= _vcpus)
            {
                throw new TraceFormatException($"{_file}: row {row}, column 'vcpu': vCPU {vcpu}, but the trace declares {_vcpus} vCPU(s) (replay.guest.vcpus).");
            }

            if (b.HasTime)
            {
                if (b.Time[i] < _lastTime[vcpu])
                {
                    warnings += Warn(row, $"time goes backwards on vCPU {vcpu}");
                }

                _lastTime[vcpu] = b.Time[i];
            }

            byte op = b.Op[i];
            if (TraceOps.NeedsVa(op) || op == (byte)TraceOp.PtWrite)
            {
                ulong va = b.Va[i];
                ulong canonical = (ulong)((long)(va << (64 - vaBits)) >> (64 - vaBits));
                if (canonical != va)
                {
                    if (op != (byte)TraceOp.PtWrite)
                    {
                        warnings += Warn(row, $"non-canonical va 0x{va:x}");
                    }

                    b.Va[i] = canonical;
                }
            }

            switch (op)
            {
                case <= (byte)TraceOp.Fetch:
                    warnings += CheckAccess(vcpu, b.Va[i], row);
                    break;
                case (byte)TraceOp.Cr3:
                    warnings += LoadCr3(vcpu, b.Value[i], row);
                    break;
                case (byte)TraceOp.PtWrite:
                case (byte)TraceOp.PtInit:
                    warnings += Store(b.Pa[i], b.Value[i], b.Width[i], row, op == (byte)TraceOp.PtInit);
                    break;
                case (byte)TraceOp.Invlpg:
                    _pending[vcpu].RemoveContaining(b.Va[i], _curPcid[vcpu]);
                    break;
                case (byte)TraceOp.Flush:
                    if (b.Value[i] > 1)
                    {
                        warnings += Warn(row, $"flush value {b.Value[i]} is neither 0 nor 1");
                    }

                    Flushed(vcpu, all: b.Value[i] != 0);
                    break;
            }
        }

        return warnings;
    }

    /// <summary>Metadata no machine could have, reported at the first row.</summary>
    private int CheckMetadata(long row) =>
        _memoryBytes < MinMemoryBytes || _memoryBytes % (1UL << Pte.PageShift) != 0
            ? Warn(row, $"metadata {TraceMetadata.MemoryBytes} = {_memoryBytes}: a guest's memory is at least {MinMemoryBytes} bytes and a whole number of 4 KiB pages")
            : 0;

    private int CheckAccess(int vcpu, ulong va, long row)
    {
        var pending = _pending[vcpu];
        if (pending.Count == 0 || !pending.TakeFirst(va, _curPcid[vcpu]))
        {
            return 0;
        }

        return Warn(row, $"vCPU {vcpu} uses va 0x{va:x} after a ptwrite narrowed its translation, with no invlpg, flush or cr3 load between");
    }

    private int LoadCr3(int vcpu, ulong value, long row)
    {
        int w = 0;
        bool noFlush = (value & Pte.Cr3NoFlush) != 0;
        if (noFlush && !_pcid)
        {
            w = Warn(row, "CR3 bit 63 set but the trace has PCID off");
        }

        ulong root = (value & Pte.AddrMask) >> Pte.PageShift;
        if (root << Pte.PageShift >= _memoryBytes)
        {
            w += Warn(row, $"cr3 loads frame 0x{root:x} at gpa 0x{root << Pte.PageShift:x}, beyond the guest's {_memoryBytes} bytes of memory ({TraceMetadata.MemoryBytes})");
        }
        else if (_mem.Frame(root) is null && _emptyRootsWarned.Add(root)) // a frame no ptwrite or ptinit stored into
        {
            w += Warn(row, $"cr3 loads frame 0x{root:x}, which no ptwrite or ptinit has written: an empty root, through which every access faults");
        }

        ushort pcid = _pcid ? (ushort)(value & Pte.PcidMask) : (ushort)0;
        _roots.Add(root);
        _curRoot[vcpu] = root;
        _curPcid[vcpu] = pcid;
        var cached = _cached[vcpu];
        if (!(noFlush && _pcid))
        {
            DropPcid(cached, pcid);
            _pending[vcpu].RemoveNonGlobal(pcid, everything: false);
        }

        if (!cached.Contains((pcid, root)))
        {
            cached.Add((pcid, root));
        }

        return w;
    }

    private static void DropPcid(List<(ushort Pcid, ulong Root)> cached, ushort pcid)
    {
        for (int k = cached.Count - 1; k >= 0; k--)
        {
            if (cached[k].Pcid == pcid)
            {
                cached.RemoveAt(k);
            }
        }
    }

    /// <summary><c>flush</c> 0 empties the current PCID (then only the current root can be cached in it); 1 empties every PCID.</summary>
    private void Flushed(int vcpu, bool all)
    {
        ushort pcid = _curPcid[vcpu];
        var cached = _cached[vcpu];
        if (all)
        {
            cached.Clear();
        }
        else
        {
            DropPcid(cached, pcid);
        }

        if (_curRoot[vcpu] != ulong.MaxValue)
        {
            cached.Add((pcid, _curRoot[vcpu]));
        }

        _pending[vcpu].RemoveNonGlobal(pcid, everything: all);
    }

    private int Store(ulong pa, ulong value, int width, long row, bool init)
    {
        int w = 0;
        if ((pa & 7) + (ulong)width > 8)
        {
            w += Warn(row, $"ptwrite of {width} bytes at 0x{pa:x} crosses an 8-byte page-table entry");
        }

        if (pa >= _memoryBytes)
        {
            w += Warn(row, $"ptwrite at gpa 0x{pa:x}, beyond the guest's {_memoryBytes} bytes of memory ({TraceMetadata.MemoryBytes})");
        }

        var (old, updated) = _mem.Store(pa, value, width);
        if (old == updated)
        {
            return w;
        }

        // Links are recorded whatever the level (tables are often written before their root is loaded).
        ulong entryAddr = pa & ~7UL;
        Relink(entryAddr, old, updated);
        if (!init && Narrows(old, updated) && LevelOf(entryAddr >> Pte.PageShift) is int level and > 0)
        {
            MarkPending(entryAddr, level, old);
        }

        return w;
    }

    private static bool Narrows(ulong old, ulong updated)
    {
        if ((old & Pte.Present) == 0)
        {
            return false;
        }

        const ulong perms = Pte.Rw | Pte.Us;
        return (updated & Pte.Present) == 0
            || (old & Pte.AddrMask) != (updated & Pte.AddrMask)
            || (old & Pte.Ps) != (updated & Pte.Ps)
            || (old & perms & ~updated) != 0
            || ((updated & Pte.Nx) != 0 && (old & Pte.Nx) == 0);
    }

    private void Relink(ulong entryAddr, ulong old, ulong updated)
    {
        if (IsTableLink(old) && _parents.TryGetValue((old & Pte.AddrMask) >> Pte.PageShift, out var list))
        {
            list.Remove(entryAddr);
        }

        if (IsTableLink(updated))
        {
            ulong child = (updated & Pte.AddrMask) >> Pte.PageShift;
            if (!_parents.TryGetValue(child, out var l))
            {
                _parents[child] = l = [];
            }

            if (!l.Contains(entryAddr))
            {
                l.Add(entryAddr);
            }
        }
    }

    private static bool IsTableLink(ulong e) => (e & Pte.Present) != 0 && (e & Pte.Ps) == 0;

    /// <summary>Level of the table in <paramref name="frame"/> (5/4 = root … 1 = PT), or 0 if no loaded root reaches it.</summary>
    private int LevelOf(ulong frame, int depth = 0)
    {
        if (_roots.Contains(frame))
        {
            return _levels;
        }

        if (depth >= _levels || !_parents.TryGetValue(frame, out var parents) || parents.Count == 0)
        {
            return 0;
        }

        int parentLevel = LevelOf(parents[0] >> Pte.PageShift, depth + 1);
        return parentLevel > 1 ? parentLevel - 1 : 0;
    }

    /// <summary>Records, on every vCPU that may cache a root above it (per PCID), the va range the narrowed entry mapped.</summary>
    private void MarkPending(ulong entryAddr, int level, ulong old)
    {
        bool global = level <= 3 && (level == 1 || (old & Pte.Ps) != 0) && (old & Pte.Global) != 0;
        var paths = _paths;
        paths.Clear();
        CollectPaths(entryAddr, level, 0, paths);
        foreach (var (va, root) in paths)
        {
            for (int v = 0; v < _vcpus; v++)
            {
                foreach (var (pcid, r) in _cached[v])
                {
                    if (r == root)
                    {
                        _pending[v].Add(va, level, global, pcid);
                    }
                }
            }
        }
    }

    private void CollectPaths(ulong entryAddr, int level, ulong vaSoFar, List<(ulong Va, ulong Root)> paths)
    {
        if (paths.Count >= MaxPaths)
        {
            return;
        }

        ulong va = vaSoFar | ((entryAddr & Pte.PageOffsetMask) >> Pte.EntryShift << Pte.Shift(level));
        ulong frame = entryAddr >> Pte.PageShift;
        if (level == _levels)
        {
            if (_roots.Contains(frame))
            {
                int bits = _levels == 5 ? 57 : 48;
                paths.Add(((ulong)((long)(va << (64 - bits)) >> (64 - bits)), frame));
            }

            return;
        }

        if (_parents.TryGetValue(frame, out var parents))
        {
            foreach (var p in parents)
            {
                CollectPaths(p, level + 1, va, paths);
            }
        }
    }

    /// <summary>Pending ranges the coherence rule has looked at, over every vCPU (what its accesses cost).</summary>
    internal long PendingExamined => _pending.Sum(p => p.Examined);

    private int Warn(long row, string message)
    {
        Warnings++;
        if (_strict)
        {
            throw new TraceWarningException($"{_file}: row {row}: {message} (--strict).");
        }

        if (_first.Count < 10)
        {
            _first.Add((row, message));
        }

        return 1;
    }
}
