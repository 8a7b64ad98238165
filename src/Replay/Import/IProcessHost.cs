using Replay.Engines.Trace;

namespace Replay.Import;

/// <summary>
/// The guest kernel an importer drives: it owns processes (address spaces), puts them on vCPUs and turns each
/// user access into the events a well-formed trace needs (SPEC §1): a faulting access, the kernel's page-table
/// writes, the retried access on first touch of a page. Importers know nothing else of the guest.
/// Call order: <see cref="CreateProcess"/> before a process is used; <see cref="Run"/> before the first
/// <see cref="Access"/> or <see cref="Retire"/> on a vCPU; <see cref="Complete"/> once, last.
/// </summary>
public interface IProcessHost
{
    /// <summary>Number of vCPUs (vCPU ids are 0 to Vcpus-1).</summary>
    int Vcpus { get; }

    /// <summary>Trace events emitted so far.</summary>
    long Events { get; }

    /// <summary>A fresh user address space with nothing mapped; returns its process id.</summary>
    int CreateProcess();

    /// <summary>
    /// As <see cref="CreateProcess"/>, with the root table at guest frame <paramref name="rootFrame"/> (an imported address
    /// space's real CR3, e.g. a Windows <c>DirectoryTableBase</c>); the frame is one the host was configured to keep for
    /// roots and no live process holds it.
    /// </summary>
    int CreateProcessWithRoot(ulong rootFrame);

    /// <summary>Makes <paramref name="process"/> current on <paramref name="vcpu"/> (a context switch, CR3 load, only if it is not already).</summary>
    void Run(int vcpu, int process);

    /// <summary>
    /// An access of <paramref name="size"/> bytes (at least 1) at <paramref name="va"/> by the process current on
    /// <paramref name="vcpu"/>; every page it touches is demand-paged (an access crossing a page boundary touches
    /// both pages). <paramref name="kind"/> is <see cref="TraceOp.Read"/>, <see cref="TraceOp.Write"/> or
    /// <see cref="TraceOp.Fetch"/>; the bytes must lie in the canonical user range (<see cref="UserSpace"/>).
    /// </summary>
    void Access(int vcpu, TraceOp kind, ulong va, int size);

    /// <summary>
    /// <paramref name="instructions"/> (at least 0) retired by the process current on <paramref name="vcpu"/> that are
    /// not accesses of their own (instructions whose fetch is not replayed, records dropped as bad): the trace carries
    /// them in the <c>insns</c> column of the next event on that vCPU (SPEC §1).
    /// </summary>
    void Retire(int vcpu, long instructions);

    /// <summary>A phase marker (SPEC §1 <c>mark</c>) with id <paramref name="id"/>; labels go in the trace metadata.</summary>
    void Mark(ulong id);

    /// <summary>The process has exited; it is never run again.</summary>
    void Exit(int process);

    /// <summary>Emits everything still buffered. Last call.</summary>
    void Complete();
}
