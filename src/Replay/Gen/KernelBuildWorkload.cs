using Replay.Gen.Kernel;

namespace Replay.Gen;

/// <summary>
/// A parallel build (<c>make -j</c> of a kernel): <c>make</c> forks a shell per job, which execs a compiler; each
/// compiler demand-faults its text and a heap of a few hundred pages, computes, frees a few buffers (munmap)
/// and exits. Two jobs per vCPU share it in time slices. Many short-lived address spaces: fork, exec, exit,
/// demand faults and teardown.
/// </summary>
internal static class KernelBuildWorkload
{
    private const int Slice = 500;

    public static readonly Workload Definition = new(
        "kernel-build",
        "A parallel build (make -j): many short-lived compiler processes (fork, exec, demand faults, munmap, exit) in time slices over the vCPUs.",
        new Dictionary<ulong, string> { [1] = "build" },
        Generate);

    private sealed class Job(Process proc, Layout image, long work)
    {
        public Process Proc = proc;
        public Layout Image = image;
        public long Work = work;
    }

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        int vcpus = k.Options.Vcpus;
        var make = k.CreateProcess();
        var makeImage = new Layout(CodePages: 32, HeapPages: 64, StackPages: 4);
        k.Run(0, make);
        for (int i = 0; i < 300; i++)
        {
            makeImage.Step(k, 0, rng);
        }

        k.Mark(1);
        var sched = new Scheduler(k);
        var jobs = new Dictionary<Process, Job>();
        for (int v = 0; v < vcpus; v++)
        {
            for (int j = 0; j < 2; j++)
            {
                var job = Spawn(k, rng, v, make, makeImage);
                jobs[job.Proc] = job;
                sched.Add(v, job.Proc);
            }
        }

        for (long slice = 0; k.Events < events; slice++)
        {
            int v = (int)(slice % vcpus);
            Layout.Kernel(k, v, rng, 6);
            var job = jobs[sched.Next(v)];
            for (int i = 0; i < Slice && job.Work > 0; i++, job.Work--)
            {
                job.Image.Step(k, v, rng);
            }

            if (rng.Next(4) == 0)
            {
                k.Munmap(v, Layout.Page(Layout.Heap, job.Image.HeapPages - 16 + rng.Next(8)), rng.Next(1, 9));
            }

            if (job.Work <= 0)
            {
                k.Exit(job.Proc);
                jobs.Remove(job.Proc);
                var next = Spawn(k, rng, v, make, makeImage);
                jobs[next.Proc] = next;
                sched.Replace(v, job.Proc, next.Proc);
            }
        }
    }

    /// <summary><c>make</c> forks on <paramref name="vcpu"/>; the child execs a compiler with a random-sized job.</summary>
    private static Job Spawn(GuestKernel k, Random rng, int vcpu, Process make, Layout makeImage)
    {
        var shell = k.Fork(vcpu, make);
        k.Run(vcpu, shell);
        makeImage.Step(k, vcpu, rng);
        var cc = k.Exec(vcpu, shell);
        var image = new Layout(CodePages: rng.Next(64, 257), HeapPages: rng.Next(128, 513), StackPages: 8);
        return new Job(cc, image, rng.Next(3_000, 20_000));
    }
}
