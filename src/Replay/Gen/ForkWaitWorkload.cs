using Replay.Engines.Trace;
using Replay.Kernel;
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

    /// <summary>
    /// The child's measured footprint (lackey, 3 iterations): 16 text pages in 8 fault-around windows (8 text faults),
    /// 5 data pages read and 12 written (11 data, 1 stack: 12 copy-on-write faults), 1,355 user instructions.
    /// </summary>
    private const int ChildTextWindows = 8;
    private const int ChildTextPerWindow = 2;
    private const int ChildReads = 5;
    private const int ChildDataWrites = 11;
    private const long ChildUser = 1_355;

    /// <summary>The parent's measured iteration: 3 text pages, 5 data pages read, its stack and one data page written (2 faults), 126 user instructions.</summary>
    private const int ParentText = 3;
    private const int ParentReads = 5;
    private const long ParentUser = 126;

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
            long step = ChildUser / ((ChildTextWindows * ChildTextPerWindow) + ChildReads + ChildDataWrites + 1);
            for (int w = 0; w < ChildTextWindows; w++)
            {
                for (int i = 0; i < ChildTextPerWindow; i++)
                {
                    k.Retire(cv, step);
                    child.Touch(k, cv, TraceOp.Fetch, child.Text.Page((w * 2 * GuestKernel.FaultAroundPages) + (i * 5)), rng);
                }
            }

            TouchEach(k, cv, child, child.Data, ChildReads, TraceOp.Read, step, first: ChildDataWrites, rng);
            TouchEach(k, cv, child, child.Data, ChildDataWrites, TraceOp.Write, step, first: 0, rng);
            TouchEach(k, cv, child, child.Stack, 1, TraceOp.Write, step, first: Image.StackPages - 1, rng);

            k.Mark(3);
            k.Syscall(cv);
            k.Exit(child.Process);

            k.Mark(4);
            k.Run(0, parent.Process);
            step = ParentUser / (ParentText + ParentReads + 2);
            TouchEach(k, 0, parent, parent.Stack, 1, TraceOp.Write, step, first: Image.StackPages - 1, rng);
            TouchEach(k, 0, parent, parent.Data, 1, TraceOp.Write, step, first: 0, rng);
            TouchEach(k, 0, parent, parent.Text, ParentText, TraceOp.Fetch, step, first: 0, rng);
            TouchEach(k, 0, parent, parent.Data, ParentReads, TraceOp.Read, step, first: ChildDataWrites, rng);
            k.Syscall(0); // waitpid returns
        }
    }

    /// <summary>Touches <paramref name="pages"/> pages of <paramref name="region"/> from page <paramref name="first"/>, retiring <paramref name="step"/> instructions before each.</summary>
    private static void TouchEach(GuestKernel k, int vcpu, ProcessModel m, Region region, int pages, TraceOp kind, long step, int first, Random rng)
    {
        for (int i = 0; i < pages; i++)
        {
            k.Retire(vcpu, step);
            m.Touch(k, vcpu, kind, region.Page((first + i) % region.Capacity), rng);
        }
    }
}
