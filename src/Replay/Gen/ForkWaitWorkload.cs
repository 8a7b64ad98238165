using Replay.Engines.Trace;
using Replay.Gen.Kernel;
using Replay.Gen.Model;

namespace Replay.Gen;

/// <summary>
/// Adams &amp; Agesen's fork/wait microbenchmark (ASPLOS 2006: <c>for (i = 0; i &lt; 40000; i++) { pid = fork(); if
/// (pid == 0) return 0; waitpid(pid); }</c>, 6.0 s native on a Pentium 4 672): the parent forks (its anonymous pages
/// write-protected and copied, its text left to the page cache), the child returns from fork and from main (its text
/// and a few written pages faulted in) and exits, the parent's wait returns and it touches its own pages again
/// (copy-on-write reuse). The image and the faults per iteration are measured on a real run (traces/README.md,
/// "Calibration"); the kernel's work per fork, exit and wait is calibrated to the native time per iteration.
/// </summary>
internal static class ForkWaitWorkload
{
    /// <summary>The measured parent image: 247 resident text pages (binary, libc, ld.so), 20 anonymous data pages, 3 stack pages.</summary>
    private static readonly ImageSpec Image = new(TextPages: 247, DataPages: 20, HeapPages: 0, StackPages: 3);

    /// <summary>Text pages the child fetches (from the page cache) and anonymous pages it writes (copy-on-write): 21 faults.</summary>
    private const int ChildText = 14;
    private const int ChildWrites = 7;

    /// <summary>Pages the parent writes after wait (its copy-on-write faults: 2 per iteration) and text it fetches again.</summary>
    private const int ParentWrites = 2;
    private const int ParentText = 12;

    /// <summary>User-mode instructions per iteration (parent, child), measured with cachegrind.</summary>
    private const long ParentUser = 1_500;
    private const long ChildUser = 4_000;

    private const int Program = 1;

    public static readonly Workload Definition = new(
        "forkwait",
        "Adams & Agesen's fork/wait microbenchmark: fork, the child returns and exits (text and copy-on-write faults), the parent waits; page-table work dominates.",
        new Dictionary<ulong, string> { [1] = "fork", [2] = "child", [3] = "exit", [4] = "wait" },
        Generate);

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        var parent = new ProcessModel(k.CreateProcess(program: Program), Image);
        k.Run(0, parent.Process);
        parent.Populate(k, 0, parent.Text, Image.TextPages, TraceOp.Fetch, rng);
        parent.Populate(k, 0, parent.Data, Image.DataPages, TraceOp.Write, rng);
        parent.Populate(k, 0, parent.Stack, Image.StackPages, TraceOp.Write, rng);

        int vcpus = k.Options.Vcpus;
        for (long n = 0; k.Events < events; n++)
        {
            k.Mark(1);
            k.Syscall(0);
            var child = new ProcessModel(k.Fork(0, parent.Process), Image);
            int cv = (int)(n % vcpus);

            k.Mark(2);
            k.Run(cv, child.Process);
            TouchEach(k, cv, child, child.Text, ChildText, TraceOp.Fetch, ChildUser, rng);
            TouchEach(k, cv, child, child.Data, ChildWrites, TraceOp.Write, 0, rng);

            k.Mark(3);
            k.Syscall(cv);
            k.Exit(child.Process);

            k.Mark(4);
            k.Run(0, parent.Process);
            TouchEach(k, 0, parent, parent.Stack, ParentWrites, TraceOp.Write, ParentUser, rng);
            TouchEach(k, 0, parent, parent.Text, ParentText, TraceOp.Fetch, 0, rng);
        }
    }

    /// <summary>Touches the first <paramref name="pages"/> pages of <paramref name="region"/>, spreading <paramref name="user"/> instructions over them.</summary>
    private static void TouchEach(GuestKernel k, int vcpu, ProcessModel m, Region region, int pages, TraceOp kind, long user, Random rng)
    {
        for (int i = 0; i < pages; i++)
        {
            k.Retire(vcpu, user / pages);
            m.Touch(k, vcpu, kind, region.Page(i % region.Capacity), rng);
        }
    }
}
