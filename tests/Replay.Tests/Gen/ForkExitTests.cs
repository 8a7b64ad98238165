using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

public sealed class ForkExitTests
{
    private const ulong X = 0x1000_0000;

    [Fact]
    public void Fork_write_protects_the_parent_then_flushes_and_the_child_shares_every_frame_until_written_and_refaults_text()
    {
        var h = new KernelHarness();
        var k = h.Kernel;
        var parent = k.CreateProcess();
        k.Run(0, parent);
        k.Access(0, TraceOp.Write, new Gva(X));
        k.Access(0, TraceOp.Fetch, new Gva(0x40_0000));
        Process child = null!;

        // Child tables PML4..PT for each of the two pages (PT for X: PML4[0] PDPT[0] PD[128] PT[0]; the code page
        // shares PML4[0]/PDPT[0] and needs PD[2] and its PT[0]); X's leaf is copied: it was writable, so the parent's
        // leaf is write-protected first. The text leaf is not copied (Linux skips VMAs without anonymous pages); the
        // fork ends with a flush of the parent's TLB (flush_tlb_mm).
        var ev = h.Take(() => child = k.Fork(0, parent));
        Assert.Equal(TraceOp.Flush, ev[^1].Op);
        Assert.Equal(2, ev.Count(e => e.Op == TraceOp.PtWrite && (e.Value & GuestKernel.SoftCow) != 0));
        Assert.Equal(k.FrameOf(parent, new Gva(X)), k.FrameOf(child, new Gva(X)));
        Assert.Null(k.FrameOf(child, new Gva(0x40_0000)));

        // The child's first fetch faults the text in from the page cache: the parent's frame, no new one.
        k.Run(0, child);
        Assert.Equal("fetch ptwrite fetch", KernelHarness.Ops(h.Take(() => k.Access(0, TraceOp.Fetch, new Gva(0x40_0000)))));
        Assert.Equal(k.FrameOf(parent, new Gva(0x40_0000)), k.FrameOf(child, new Gva(0x40_0000)));

        // The child's first write copies: write (fails: read-only), ptwrite leaf = 0, invlpg X, ptwrite new
        // writable leaf, retried write = 5 events.
        Gfn shared = k.FrameOf(parent, new Gva(X))!.Value;
        ev = h.Take(() => k.Access(0, TraceOp.Write, new Gva(X + 8)));
        Assert.Equal("write ptwrite invlpg ptwrite write", KernelHarness.Ops(ev));
        Assert.Equal(0UL, ev[1].Value);
        Assert.NotEqual(shared, k.FrameOf(child, new Gva(X)));
        Assert.Equal(shared, k.FrameOf(parent, new Gva(X)));
        Assert.Equal(k.FrameOf(parent, new Gva(0x40_0000)), k.FrameOf(child, new Gva(0x40_0000))); // still shared: never written

        // The parent is now the page's only user: its write fault reuses the frame (RW set in place), then INVLPG.
        k.Run(0, parent);
        ev = h.Take(() => k.Access(0, TraceOp.Write, new Gva(X)));
        Assert.Equal("write ptwrite invlpg write", KernelHarness.Ops(ev));
        Assert.Equal(shared, k.FrameOf(parent, new Gva(X)));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Exit_returns_every_frame_the_process_and_its_children_allocated(bool thp, bool kpti)
    {
        var h = new KernelHarness(new KernelOptions { Thp = thp, Kpti = kpti, Pcid = kpti, Vcpus = 2 });
        var k = h.Kernel;
        long before = k.Frames.InUse;
        var parent = k.CreateProcess();
        k.Run(0, parent);
        for (int i = 0; i < 300; i++)
        {
            k.Access(0, i % 3 == 0 ? TraceOp.Read : TraceOp.Write, new Gva(X + ((ulong)i << 13)));
        }

        var child = k.Fork(0, parent);
        k.Run(1, child);
        for (int i = 0; i < 100; i++)
        {
            k.Access(1, TraceOp.Write, new Gva(X + ((ulong)i << 14)));
        }

        var grandchild = k.Exec(1, child);
        k.Access(1, TraceOp.Write, new Gva(0x7FFF_0000_0000));
        k.Exit(grandchild);
        k.Exit(parent);
        Assert.Equal(thp ? 513 : 1, k.ZeroPageFrames); // a third of the parent's touches were reads: the zero page (with THP the huge one too, split by the write after it)
        Assert.Equal(before + k.ZeroPageFrames, k.Frames.InUse);
        Assert.Equal(k.Idle, k.CurrentOn(0));

        // Teardown wrote every user leaf to zero and unlinked every table: nothing of the user half is left.
        Assert.Null(k.FrameOf(parent, new Gva(X)));
        Assert.Null(k.FrameOf(grandchild, new Gva(0x7FFF_0000_0000)));
    }

    [Fact]
    public void Exit_with_the_ptdying_hint_names_the_root_before_the_first_zero_write()
    {
        var h = new KernelHarness(new KernelOptions { PtDying = true });
        var p = h.Kernel.CreateProcess();
        h.Kernel.Run(0, p);
        h.Kernel.Access(0, TraceOp.Write, new Gva(X));
        var ev = h.Take(() => h.Kernel.Exit(p));

        // ptdying root, leaf = 0, then bottom-up PD[128] = 0, PDPT[0] = 0, PML4[0] = 0, flush, CR3 init_mm.
        Assert.Equal("ptdying ptwrite ptwrite ptwrite ptwrite flush cr3", KernelHarness.Ops(ev));
        Assert.Equal(p.Root << 12, ev[0].Pa);
        Assert.All(ev.Where(e => e.Op == TraceOp.PtWrite), e => Assert.Equal(0UL, e.Value));
        Assert.Equal(h.Kernel.Idle.Root << 12, ev[^1].Value & Pte.AddrMask);
    }

    [Theory]
    [InlineData(1, "invlpg")]
    [InlineData(33, "invlpg")]
    [InlineData(34, "flush")]
    public void Munmap_invalidates_page_by_page_up_to_33_pages_and_flushes_past_them(int pages, string invalidation)
    {
        var h = new KernelHarness();
        var p = h.Kernel.CreateProcess();
        h.Kernel.Run(0, p);
        for (int i = 0; i < pages; i++)
        {
            h.Kernel.Access(0, TraceOp.Write, new Gva(X + ((ulong)i << 12)));
        }

        h.Kernel.Access(0, TraceOp.Write, new Gva(X + ((ulong)(pages + 10) << 12))); // past the range: the page table stays

        // One zero ptwrite per page, then INVLPG per page (<= 33, Linux's tlb_single_page_flush_ceiling) or one flush.
        var ev = h.Take(() => h.Kernel.Munmap(0, new Gva(X), pages + 10)); // the unmapped tail costs nothing
        Assert.Equal(pages, ev.Count(e => e.Op == TraceOp.PtWrite && e.Value == 0));
        int invalidations = invalidation == "invlpg" ? pages : 1;
        Assert.Equal(pages + invalidations, ev.Count);
        Assert.All(ev.Skip(pages), e => Assert.Equal(invalidation, e.Op.ToString().ToLowerInvariant()));
        Assert.Null(h.Kernel.FrameOf(p, new Gva(X)));
    }
}
