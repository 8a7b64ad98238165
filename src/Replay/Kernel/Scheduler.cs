namespace Replay.Kernel;

/// <summary>
/// Round-robin time slices over the vCPUs: each vCPU has a run queue; <see cref="Next"/> context-switches the
/// vCPU to the next process in its queue (through <see cref="GuestKernel.Run"/>, so only real switches load CR3).
/// </summary>
public sealed class Scheduler(GuestKernel kernel)
{
    private readonly List<Process>[] _queues = Enumerable.Range(0, kernel.Options.Vcpus).Select(_ => new List<Process>()).ToArray();
    private readonly int[] _cursor = new int[kernel.Options.Vcpus];

    /// <summary>Processes queued on <paramref name="vcpu"/>.</summary>
    public IReadOnlyList<Process> Queue(int vcpu) => _queues[vcpu];

    public void Add(int vcpu, Process p) => _queues[vcpu].Add(p);

    /// <summary>Replaces <paramref name="old"/> by <paramref name="fresh"/> in place (exec, or a job replaced by the next one).</summary>
    public void Replace(int vcpu, Process old, Process fresh) => _queues[vcpu][_queues[vcpu].IndexOf(old)] = fresh;

    /// <summary>Starts the next time slice on <paramref name="vcpu"/>; returns the process now running there.</summary>
    public Process Next(int vcpu)
    {
        var q = _queues[vcpu];
        var p = q[_cursor[vcpu]++ % q.Count];
        kernel.Run(vcpu, p);
        return p;
    }
}
