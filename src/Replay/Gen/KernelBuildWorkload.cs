using Replay.Engines.Trace;
using Replay.Kernel;
using Replay.Gen.Model;

namespace Replay.Gen;

/// <summary>
/// A parallel kernel build (<c>make -j</c>, one job per vCPU), as a slice of its steady state: on every vCPU a job's
/// compiler (cc1) runs, its heap growing by demand faults and its accesses spread over a working set that outgrows the
/// TLBs, while the job's shell forks and execs the small tools of kbuild's recipes (sh, fixdep, objtool, nm, awk, as)
/// at the rate the build creates processes, each faulting in its text and data and exiting. When a compiler's life
/// ends the next job's begins. Every rate (instructions per fork, faults and TLB misses per kilo-instruction, context
/// switches, process sizes) is measured on a real <c>make -j2 kernel/ mm/</c> (traces/README.md, "Calibration").
/// </summary>
internal static class KernelBuildWorkload
{
    /// <summary>A program of the build: its image, the instructions of one run, and how it touches memory.</summary>
    private sealed record Tool(int Program, ImageSpec Image, long Instructions, AccessMix Mix);

    /// <summary>
    /// The compiler as the build's mean compile unit: <c>make -j2 kernel/ mm/</c> ran cc1 317 times in 217.2 CPU-s, cc1
    /// taking 93.0% of the CPU time and 70.6% of the 6,294,770 faults (perf), at cc1's measured 3.67 G instructions per
    /// CPU-second: 2.34 G instructions and 14,000 faults per run. Of those faults, 256 fault-around windows of its
    /// 16 MiB of text, 512 data pages and 16 of stack; the heap takes the other 13,200 pages (52 MiB). Listed accesses:
    /// cold ones for its measured STLB misses per kilo-instruction (0.146 with Skylake's 1,536-entry STLB, the mean of
    /// three units that cachegrind simulated: kernel/fork.c, mm/memory.c, kernel/sched/core.c), warm ones for the misses
    /// a 512-entry STLB adds (Nehalem: 1.14), the rest hot.
    /// </summary>
    private static readonly Tool Cc1 = new(
        Program: 10,
        Image: new ImageSpec(TextPages: 4_096, DataPages: 512, HeapPages: 13_200, StackPages: 16),
        Instructions: 2_340_000_000,
        Mix: new AccessMix
        {
            InsnsPerAccess = 400, Fetch = 0.39, Write = 0.35, Hot = 48,
            Cold = 0.038, Warm = 0.85, WarmPages = 720,
            FetchCold = 0.021, FetchWarm = 0.87, FetchWarmPages = 360,
        });

    /// <summary>
    /// How the recipes' programs touch memory: an access listed every 2,000 instructions, 40% of them fetches, growing
    /// into new pages until the whole image is faulted in (their faults are set by the image sizes below).
    /// </summary>
    private static readonly AccessMix SmallProgramMix = new() { InsnsPerAccess = 2_000, Fetch = 0.4, Cold = 0.2, Grow = 0.3 };

    /// <summary>
    /// The recipes' other programs, as the mean of what one of their forks runs (perf by command over the build): of
    /// the 21.7 forks per object file, 19.7 run small programs (sh, fixdep, rm, awk, as, the gcc driver: 3.15% of the
    /// CPU time, about 56 faults each) and 2 the binary tools (nm and objtool: 3.85% of the CPU time, 24.7% of the
    /// faults, about 2,800 each). Per fork: 9.4 M instructions and 313 faults (the 29.4% of the build's 6.29 M faults
    /// that are not cc1's, over its 5,913 forks): 16 fault-around windows of text and 297 pages of data, heap and stack.
    /// A slice of the build runs only a handful of them, so each is this mean rather than one drawn from the mix.
    /// </summary>
    private static readonly Tool Recipe = new(12, new ImageSpec(256, 32, 261, 4), 9_400_000, SmallProgramMix);

    /// <summary>The job's shell (sh): one of the small programs above, 4.7 M instructions and about 56 faults.</summary>
    private static readonly Tool Shell = new(11, new ImageSpec(256, 16, 24, 4), 4_700_000, SmallProgramMix);

    /// <summary>
    /// cc1 instructions between two processes the recipe creates: cc1's 93.0% of the build's 797 G instructions over
    /// its 5,913 forks (with the tools' own instructions, 7.4 forks per G instructions, as measured).
    /// </summary>
    private const long InsnsPerFork = 125_000_000;

    /// <summary>Instructions between two context switches a job's compiler takes (timer ticks, pipe and wait wakeups).</summary>
    private const long InsnsPerSwitch = 40_000_000;

    public static readonly Workload Definition = new(
        "kernel-build",
        "A parallel kernel build (make -j), a slice of its steady state: a compiler per vCPU with a growing heap, and the recipes' shells and tools forked, exec'd and exited at the build's measured rates.",
        new Dictionary<ulong, string> { [1] = "warmup", [2] = "build" },
        Generate)
    {
        // Measured for cc1 on kernel/fork.c (cachegrind, 32 KiB 8-way L1D, 8 MiB 16-way LL): 44.4 M L1D and 2.83 M LL
        // data misses over 4.81 G instructions, over its 112 MiB of anonymous memory.
        Pressure = new(L1dMissesPerKiloInsn: 9.24, LlcMissesPerKiloInsn: 0.59, FootprintBytes: 112UL << 20),
    };

    private sealed class Job
    {
        public required ProcessModel Compiler;
        public required ProcessModel Shell;
        public long Left;
        public long UntilFork;
        public long UntilSwitch;
    }

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        int vcpus = k.Options.Vcpus;
        var make = new ProcessModel(k.CreateProcess(program: 9), new ImageSpec(256, 64, 512, 4));
        k.Mark(1);
        k.Run(0, make.Process);
        make.Work(k, 0, 200_000, new AccessMix { InsnsPerAccess = 500, Fetch = 0.4, Grow = 0.5 }, rng);
        var jobs = new Job[vcpus];
        for (int v = 0; v < vcpus; v++)
        {
            // The first compilers are half way through their lives when the slice starts (their heaps half grown).
            jobs[v] = Start(k, v, make, rng, progress: 0.5, budget: events / 4 / vcpus);
        }

        k.Mark(2);
        const long Quantum = 1_000_000;
        for (long step = 0; k.Events < events; step++)
        {
            int v = (int)(step % vcpus);
            var job = jobs[v];
            k.Run(v, job.Compiler.Process);
            job.Compiler.Work(k, v, Quantum, Cc1.Mix with { Grow = GrowRate(job.Compiler) }, rng);
            job.Left -= Quantum;
            job.UntilFork -= Quantum;
            job.UntilSwitch -= Quantum;
            if (job.UntilSwitch <= 0)
            {
                job.UntilSwitch += InsnsPerSwitch;
                k.Run(v, make.Process);
                make.Work(k, v, 20_000, new AccessMix { InsnsPerAccess = 100, Fetch = 0.4 }, rng);
            }

            if (job.UntilFork <= 0)
            {
                job.UntilFork += InsnsPerFork;
                RunTool(k, v, job.Shell, Recipe, rng);
            }

            if (job.Left <= 0)
            {
                k.Exit(job.Compiler.Process);
                k.Exit(job.Shell.Process);
                jobs[v] = Start(k, v, make, rng, progress: 0, budget: 0);
            }
        }
    }

    /// <summary>
    /// A job: make forks a shell, which forks and execs the compiler; <paramref name="progress"/> of its life already run,
    /// its heap grown to match in at most <paramref name="budget"/> pages (so a short trace stays short).
    /// </summary>
    private static Job Start(GuestKernel k, int vcpu, ProcessModel make, Random rng, double progress, long budget)
    {
        k.Run(vcpu, make.Process);
        k.Syscall(vcpu);
        var shell = new ProcessModel(k.Exec(vcpu, k.Fork(vcpu, make.Process), Shell.Program), Shell.Image);
        shell.Work(k, vcpu, Shell.Instructions, Shell.Mix, rng);
        k.Syscall(vcpu);
        var cc1 = new ProcessModel(k.Exec(vcpu, k.Fork(vcpu, shell.Process), Cc1.Program), Cc1.Image);
        long done = (long)(Cc1.Instructions * progress);
        int pages = (int)Math.Min(Cc1.Image.HeapPages * progress, budget / 2);
        cc1.Populate(k, vcpu, cc1.Text, (int)Math.Min(Cc1.Image.TextPages / 4, budget / 4), TraceOp.Fetch, rng);
        cc1.Populate(k, vcpu, cc1.Data, (int)Math.Min(Cc1.Image.DataPages, budget / 4), TraceOp.Write, rng);
        cc1.Populate(k, vcpu, cc1.Heap, pages, TraceOp.Write, rng);
        return new Job
        {
            Compiler = cc1, Shell = shell, Left = Cc1.Instructions - done,
            UntilFork = rng.NextInt64(InsnsPerFork), UntilSwitch = rng.NextInt64(InsnsPerSwitch),
        };
    }

    /// <summary>The heap's growth per listed access that spreads its remaining pages over its remaining life.</summary>
    private static double GrowRate(ProcessModel cc1) =>
        Cc1.Mix.InsnsPerAccess * Cc1.Image.HeapPages / (double)Cc1.Instructions;

    /// <summary>The shell forks and execs <paramref name="tool"/>, which runs and exits; the shell waits.</summary>
    private static void RunTool(GuestKernel k, int vcpu, ProcessModel shell, Tool tool, Random rng)
    {
        k.Run(vcpu, shell.Process);
        k.Syscall(vcpu);
        var p = new ProcessModel(k.Exec(vcpu, k.Fork(vcpu, shell.Process), tool.Program), tool.Image);
        p.Work(k, vcpu, tool.Instructions, tool.Mix, rng);
        k.Syscall(vcpu);
        k.Exit(p.Process);
        k.Run(vcpu, shell.Process);
        k.Syscall(vcpu); // wait returns
    }
}
