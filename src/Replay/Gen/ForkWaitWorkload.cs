using Replay.Engines.Trace;
using Replay.Gen.Kernel;

namespace Replay.Gen;

/// <summary>
/// Adams &amp; Agesen's fork/wait microbenchmark (ASPLOS 2006: 40,000 fork+wait, 6.0 s native, 106 s under
/// first-generation VT-x shadow paging): a parent with a modest image forks; the child returns from fork
/// (stack and data writes take copy-on-write faults), exits at once; the parent waits and resumes, its own
/// writes now reusing the pages the child released. Page-table writes, COW faults and teardown dominate.
/// </summary>
internal static class ForkWaitWorkload
{
    private static readonly Layout Image = new(CodePages: 16, HeapPages: 64, StackPages: 4);

    public static readonly Workload Definition = new(
        "forkwait",
        "Adams & Agesen's fork/wait microbenchmark: fork, the child writes a little (COW faults) and exits, the parent waits; page-table writes dominate.",
        new Dictionary<ulong, string> { [1] = "fork", [2] = "child", [3] = "exit", [4] = "wait" },
        Generate);

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        var parent = k.CreateProcess();
        k.Run(0, parent);
        for (int i = 0; i < 600; i++)
        {
            Image.Step(k, 0, rng); // the parent's image is resident before the loop starts
        }

        int vcpus = k.Options.Vcpus;
        for (long n = 0; k.Events < events; n++)
        {
            k.Mark(1);
            Layout.Kernel(k, 0, rng, 4);
            var child = k.Fork(0, parent);
            int cv = (int)(n % vcpus);
            k.Mark(2);
            k.Run(cv, child);
            k.Access(cv, TraceOp.Write, Layout.Page(Layout.Stack, Image.StackPages - 1));
            for (int i = 0; i < 12; i++)
            {
                Image.Step(k, cv, rng);
            }

            k.Mark(3);
            Layout.Kernel(k, cv, rng, 4);
            k.Exit(child);
            k.Mark(4);
            k.Run(0, parent);
            Layout.Kernel(k, 0, rng, 4);
            k.Access(0, TraceOp.Write, Layout.Page(Layout.Stack, Image.StackPages - 1));
            for (int i = 0; i < 8; i++)
            {
                Image.Step(k, 0, rng);
            }
        }
    }
}
