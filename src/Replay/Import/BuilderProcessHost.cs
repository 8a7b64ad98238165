using Replay.Engines.Guest;
using Replay.Engines.Trace;
using Replay.Gen;

namespace Replay.Import;

/// <summary>
/// An <see cref="IProcessHost"/> over the synthetic workloads' <see cref="GuestBuilder"/>: one 4-level address
/// space per process (kernel half shared), a CR3 load on a switch, and demand paging on first touch of a page
/// (the faulting access, the <c>ptwrite</c>s of the missing tables and leaf, the retried access). Pages are
/// mapped user read/write/execute (the recorded process's own protections are not known); nothing is unmapped,
/// so no invalidation is ever needed. To be replaced by an adapter over the Linux-like guest kernel model.
/// </summary>
public sealed class BuilderProcessHost : IProcessHost
{
    /// <summary>Leaf flags of every demand-paged page: present, writable, user, executable.</summary>
    public const ulong PageFlags = Pte.Present | Pte.Rw | Pte.Us;

    private const ulong NoPage = ulong.MaxValue;

    private readonly GuestBuilder _guest;
    private readonly ulong _frames;
    private readonly List<ulong> _roots = [];
    private readonly List<bool> _exited = [];
    private readonly int[] _current;
    private readonly ulong[] _lastPage; // per vCPU: a page known mapped in its current process
    private bool _started;

    /// <summary>Drives <paramref name="guest"/>; frames past <paramref name="memoryBytes"/> are an error.</summary>
    public BuilderProcessHost(GuestBuilder guest, ulong memoryBytes = TraceInfo.DefaultMemoryBytes)
    {
        ArgumentNullException.ThrowIfNull(guest);
        _guest = guest;
        _frames = memoryBytes / 4096;
        _current = Enumerable.Repeat(-1, guest.Vcpus).ToArray();
        _lastPage = Enumerable.Repeat(NoPage, guest.Vcpus).ToArray();
    }

    public int Vcpus => _guest.Vcpus;

    public long Events => _guest.Events;

    /// <summary>Address spaces made before the first <see cref="Run"/> are initial contents (<c>ptinit</c>); later ones are kernel stores.</summary>
    public int CreateProcess()
    {
        _roots.Add(_guest.NewAddressSpace(initial: !_started));
        _exited.Add(false);
        return _roots.Count - 1;
    }

    public void Run(int vcpu, int process)
    {
        CheckVcpu(vcpu);
        if ((uint)process >= (uint)_roots.Count || _exited[process])
        {
            throw new InvalidOperationException($"process {process} does not exist or has exited.");
        }

        _started = true;
        if (_current[vcpu] != process)
        {
            _guest.Cr3(vcpu, _roots[process]);
            _current[vcpu] = process;
            _lastPage[vcpu] = NoPage;
        }
    }

    public void Access(int vcpu, TraceOp kind, ulong va, int size)
    {
        CheckVcpu(vcpu);
        int process = _current[vcpu];
        if (process < 0)
        {
            throw new InvalidOperationException($"no process runs on vCPU {vcpu}.");
        }

        if (kind is not (TraceOp.Read or TraceOp.Write or TraceOp.Fetch))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "an access is a read, a write or a fetch.");
        }

        if (!UserSpace.Contains(va, size))
        {
            throw new ArgumentOutOfRangeException(nameof(va), $"0x{va:x} ({size} bytes) is not in the user address range.");
        }

        ulong lastPage = (va + (ulong)Math.Max(size, 1) - 1) >> 12;
        Touch(vcpu, process, kind, va);
        for (ulong page = (va >> 12) + 1; page <= lastPage; page++)
        {
            Touch(vcpu, process, kind, page << 12);
        }
    }

    public void Mark(ulong id) => _guest.Mark(id);

    public void Exit(int process) => _exited[process] = true;

    public void Complete() => _guest.Complete();

    private void Touch(int vcpu, int process, TraceOp kind, ulong va)
    {
        ulong page = va >> 12;
        if (page != _lastPage[vcpu])
        {
            ulong root = _roots[process];
            if (!_guest.IsMapped(root, va))
            {
                _guest.Access(vcpu, va, kind);
                _guest.Map(vcpu, root, va, NewFrame(), PageFlags);
            }

            _lastPage[vcpu] = page;
        }

        _guest.Access(vcpu, va, kind);
    }

    private ulong NewFrame()
    {
        ulong frame = _guest.AllocFrame();
        return frame < _frames
            ? frame
            : throw new ImportFormatException($"the input touches more pages than the guest's {_frames * 4096 >> 20} MiB of memory hold.");
    }

    private void CheckVcpu(int vcpu)
    {
        if ((uint)vcpu >= (uint)_current.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(vcpu), vcpu, $"the guest has {_current.Length} vCPUs.");
        }
    }
}
