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
    /// The compiler, the mean of three measured compile units (kernel/fork.c, mm/memory.c, kernel/sched/core.c;
    /// cachegrind and perf): 7.66 G instructions and 32,300 faults per run, 16 MiB of text and 112 MiB of anonymous
    /// memory resident at its peak. Listed accesses: cold ones for its measured STLB misses per kilo-instruction
    /// (0.146 with Skylake's 1,536-entry STLB), warm ones for the misses a 512-entry STLB adds (Nehalem: 1.14), the rest
    /// hot.
    /// </summary>
    private static readonly Tool Cc1 = new(
        Program: 10,
        Image: new ImageSpec(TextPages: 4_096, DataPages: 512, HeapPages: 28_800, StackPages: 16),
        Instructions: 7_660_000_000,
        Mix: new AccessMix
        {
            InsnsPerAccess = 400, Fetch = 0.39, Write = 0.35, Hot = 48,
            Cold = 0.038, Warm = 0.85, WarmPages = 720,
            FetchCold = 0.021, FetchWarm = 0.87, FetchWarmPages = 360,
        });

    /// <summary>The shell and the recipe's small tools: a few million instructions, a few hundred faults each.</summary>
    private static readonly Tool Sh = new(11, new ImageSpec(256, 64, 96, 4), 2_000_000, new AccessMix { InsnsPerAccess = 2_000, Fetch = 0.4, Cold = 0.2, Grow = 0.3 });

    private static readonly Tool Helper = new(12, new ImageSpec(512, 128, 512, 8), 30_000_000, new AccessMix { InsnsPerAccess = 5_000, Fetch = 0.4, Cold = 0.2, Grow = 0.15 });

    /// <summary>Instructions of cc1 between two processes the recipe creates (the build's forks per instruction).</summary>
    private const long InsnsPerFork = 140_000_000;

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
                RunTool(k, v, job.Shell, rng.Next(3) == 0 ? Helper : Sh, rng);
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
        var shell = new ProcessModel(k.Exec(vcpu, k.Fork(vcpu, make.Process), Sh.Program), Sh.Image);
        shell.Work(k, vcpu, Sh.Instructions, Sh.Mix, rng);
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
