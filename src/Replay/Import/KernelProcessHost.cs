using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Import;

/// <summary>
/// An <see cref="IProcessHost"/> over the Linux-like guest kernel model (<see cref="GuestKernel"/>): each
/// imported process is a process of the model, so its addresses are demand-paged (the faulting access, the
/// kernel's page-table writes, the retried access), a fetch from a data page or a write to a code page is a
/// permission fault the kernel fixes, a context switch follows the model's PCID/KPTI rules, memory pressure
/// reclaims pages with invalidations, and an exit tears the address space down. Retired instructions ride as
/// <c>insns</c> on the next event of their vCPU (<see cref="GuestKernel.Retire"/>).
/// </summary>
public sealed class KernelProcessHost(GuestKernel kernel) : IProcessHost
{
    private readonly List<Process> _processes = [];

    public int Vcpus => kernel.Options.Vcpus;

    public long Events => kernel.Events;

    public int CreateProcess()
    {
        _processes.Add(kernel.CreateProcess());
        return _processes.Count - 1;
    }

    public int CreateProcessWithRoot(ulong rootFrame)
    {
        _processes.Add(kernel.CreateProcess(root: rootFrame));
        return _processes.Count - 1;
    }

    public void Run(int vcpu, int process)
    {
        CheckVcpu(vcpu);
        if ((uint)process >= (uint)_processes.Count || !_processes[process].Alive)
        {
            throw new InvalidOperationException($"process {process} does not exist or has exited.");
        }

        kernel.Run(vcpu, _processes[process]);
    }

    public void Access(int vcpu, TraceOp kind, ulong va, int size)
    {
        CheckVcpu(vcpu);
        if (kind is not (TraceOp.Read or TraceOp.Write or TraceOp.Fetch))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "an access is a read, a write or a fetch.");
        }

        if (!UserSpace.Contains(va, size))
        {
            throw new ArgumentOutOfRangeException(nameof(va), $"0x{va:x} ({size} bytes) is not in the user address range.");
        }

        if (kernel.CurrentOn(vcpu).IsIdle)
        {
            throw new InvalidOperationException($"no process runs on vCPU {vcpu}.");
        }

        kernel.Access(vcpu, kind, new Gva(va));
        ulong lastPage = (va + (ulong)Math.Max(size, 1) - 1) >> Pte.PageShift;
        for (ulong page = (va >> Pte.PageShift) + 1; page <= lastPage; page++)
        {
            kernel.Access(vcpu, kind, new Gva(page << Pte.PageShift)); // the part of the access on the next page
        }
    }

    public void Retire(int vcpu, long instructions)
    {
        CheckVcpu(vcpu);
        ArgumentOutOfRangeException.ThrowIfNegative(instructions);
        if (kernel.CurrentOn(vcpu).IsIdle)
        {
            throw new InvalidOperationException($"no process runs on vCPU {vcpu}.");
        }

        kernel.Retire(vcpu, instructions);
    }

    /// <summary>Instructions retired that no event followed on their vCPU, so the trace does not hold them (after <see cref="Complete"/>: lost).</summary>
    public long PendingInstructions => kernel.PendingInstructions;

    /// <summary>Instructions the kernel model's own paths (switches, exits, syscalls) added to the trace's <c>insns</c>.</summary>
    public long KernelInstructions => kernel.KernelInstructions;

    public void Mark(ulong id) => kernel.Mark(id);

    public void Exit(int process)
    {
        var p = _processes[process];
        if (p.Alive)
        {
            kernel.Exit(p);
        }
    }

    public void Complete() => kernel.Complete();

    private void CheckVcpu(int vcpu)
    {
        if ((uint)vcpu >= (uint)Vcpus)
        {
            throw new ArgumentOutOfRangeException(nameof(vcpu), vcpu, $"the guest has {Vcpus} vCPUs.");
        }
    }
}
