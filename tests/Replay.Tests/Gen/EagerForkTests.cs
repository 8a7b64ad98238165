using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

/// <summary>
/// <see cref="KernelOptions.EagerFork"/> (Linux before 2.6.14): fork copies every present leaf, program text included,
/// so the child never faults its text in; Linux's lazy fork (the default) leaves text to the page cache. Either way
/// text frames belong to the page cache: they outlive the processes of a named program, and leave with the last
/// process of a private one.
/// </summary>
public sealed class EagerForkTests
{
    private const ulong X = 0x1000_0000;
    private const ulong Text = 0x40_0000;

    [Theory]
    [InlineData(true, "fetch")]                // the text leaf was copied
    [InlineData(false, "fetch ptwrite fetch")] // refaulted from the page cache: the leaf written, the fetch retried
    public void An_eager_fork_copies_the_text_leaf_so_the_childs_first_fetch_does_not_fault(bool eager, string firstFetch)
    {
        var h = new KernelHarness(new KernelOptions { EagerFork = eager });
        var k = h.Kernel;
        var parent = k.CreateProcess(program: 3);
        k.Run(0, parent);
        k.Access(0, TraceOp.Fetch, new Gva(Text));
        k.Access(0, TraceOp.Write, new Gva(X));
        ulong textLeaf = (k.FrameOf(parent, new Gva(Text))!.Value.Value << 12) | GuestKernel.CodeFlags;

        Process child = null!;
        var fork = h.Take(() => child = k.Fork(0, parent));

        // The data leaf is write-protected in the parent and copied either way. The text leaf is read-only, so eager
        // fork copies it without a write-protect, one ptwrite of the parent's leaf made old (copy_present_pte's
        // pte_mkold); lazy fork writes none.
        Assert.Equal(eager ? 1 : 0, fork.Count(e => e.Op == TraceOp.PtWrite && e.Value == (textLeaf & ~Pte.Accessed)));
        Assert.Equal(eager ? k.FrameOf(parent, new Gva(Text)) : null, k.FrameOf(child, new Gva(Text)));
        Assert.Equal(k.FrameOf(parent, new Gva(X)), k.FrameOf(child, new Gva(X)));

        k.Run(0, child);
        Assert.Equal(firstFetch, KernelHarness.Ops(h.Take(() => k.Access(0, TraceOp.Fetch, new Gva(Text)))));
        Assert.Equal(k.FrameOf(parent, new Gva(Text)), k.FrameOf(child, new Gva(Text))); // the parent's frame, the page cache's
        Assert.Equal(1, k.PageCacheFrames);
    }

    [Theory]
    [InlineData(3, 1)]    // a named program: its text stays in the page cache
    [InlineData(null, 0)] // a private program: its text leaves with its last process
    public void Exiting_both_processes_keeps_the_page_cache_of_a_named_program_only(int? program, int cached)
    {
        var h = new KernelHarness(new KernelOptions { EagerFork = true });
        var k = h.Kernel;
        long boot = k.Frames.InUse;
        var parent = k.CreateProcess(program: program);
        k.Run(0, parent);
        k.Access(0, TraceOp.Fetch, new Gva(Text));
        k.Access(0, TraceOp.Write, new Gva(X));
        var child = k.Fork(0, parent);

        // The child holds the text leaf too; exiting the parent first must not free the frame under it.
        k.Exit(parent);
        Assert.Equal(1, k.PageCacheFrames);
        k.Run(0, child);
        Assert.Equal("fetch", KernelHarness.Ops(h.Take(() => k.Access(0, TraceOp.Fetch, new Gva(Text)))));

        // Every frame but the cached text is returned: tables, roots, the data page and its copy-on-write reference.
        k.Exit(child);
        Assert.Equal(cached, k.PageCacheFrames);
        Assert.Equal(boot + k.PageCacheFrames, k.Frames.InUse);
    }
}
