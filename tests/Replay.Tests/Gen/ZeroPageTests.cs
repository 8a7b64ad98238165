using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

/// <summary>
/// Linux maps the shared zero page read-only on an anonymous read fault (<c>do_anonymous_page</c>; with THP the huge
/// zero page, <c>do_huge_pmd_anonymous_page</c>), and the first write copies it (<c>wp_page_copy</c>; a huge zero
/// page is first split into 512 leaves of the 4 KiB one, <c>__split_huge_zero_page_pmd</c>). The zero pages are
/// shared by every process, never reference-counted and never freed.
/// </summary>
public sealed class ZeroPageTests
{
    private static ulong FrameIn(ulong entry) => (entry & Pte.AddrMask) >> Pte.PageShift;

    [Fact]
    public void Reads_of_two_pages_in_two_processes_map_one_zero_frame_and_the_first_write_copies_it_with_one_invalidation()
    {
        var h = new KernelHarness();
        var k = h.Kernel;
        var a = k.CreateProcess();
        var b = k.CreateProcess();
        k.Run(0, a);
        var first = h.Take(() => k.Access(0, TraceOp.Read, new Gva(0x1000)));
        k.Access(0, TraceOp.Read, new Gva(0x5000));
        k.Run(0, b);
        k.Access(0, TraceOp.Read, new Gva(0x9000));
        ulong zero = FrameIn(first[4].Value);
        Assert.Equal(zero, k.FrameOf(a, new Gva(0x5000))!.Value.Value);
        Assert.Equal(zero, k.FrameOf(b, new Gva(0x9000))!.Value.Value);
        Assert.Equal(1, k.ZeroPageFrames);

        // wp_page_copy: write (fails on the read-only leaf), the leaf cleared, INVLPG, the new leaf, the write again.
        k.Run(0, a);
        var ev = h.Take(() => k.Access(0, TraceOp.Write, new Gva(0x5010)));
        Assert.Equal("write ptwrite invlpg ptwrite write", KernelHarness.Ops(ev));
        Assert.Equal(0UL, ev[1].Value);
        Assert.Equal(0x5000UL, ev[2].Va);
        Assert.NotEqual(zero, FrameIn(ev[3].Value));
        Assert.Equal(GuestKernel.DataFlags | Pte.Dirty, ev[3].Value & ~Pte.AddrMask);

        // The other mappings of the zero page are untouched; the copy is private and writable from now on.
        Assert.Equal(zero, k.FrameOf(a, new Gva(0x1000))!.Value.Value);
        Assert.Equal(zero, k.FrameOf(b, new Gva(0x9000))!.Value.Value);
        Assert.Equal("write", KernelHarness.Ops(h.Take(() => k.Access(0, TraceOp.Write, new Gva(0x5018)))));
    }

    [Fact]
    public void Fork_copies_a_zero_page_leaf_without_write_protecting_or_counting_it_and_exit_frees_nothing_of_it()
    {
        var h = new KernelHarness();
        var k = h.Kernel;
        long boot = k.Frames.InUse;
        var parent = h.Running();
        k.Access(0, TraceOp.Read, new Gva(0x1000));
        ulong zero = k.FrameOf(parent, new Gva(0x1000))!.Value.Value;

        Process child = null!;
        var fork = h.Take(() => child = k.Fork(0, parent));
        var leaves = fork.Where(e => e.Op == TraceOp.PtWrite && FrameIn(e.Value) == zero).ToList();
        Assert.Single(leaves); // the child's copy only: the parent's leaf is already read-only
        Assert.Equal(GuestKernel.ZeroFlags & ~Pte.Accessed, leaves[0].Value & ~Pte.AddrMask); // made old

        // The child's write copies the zero page; the parent's leaf stays on it; neither exit frees the zero frame.
        k.Run(0, child);
        Assert.Equal("write ptwrite invlpg ptwrite write", KernelHarness.Ops(h.Take(() => k.Access(0, TraceOp.Write, new Gva(0x1000)))));
        Assert.Equal(zero, k.FrameOf(parent, new Gva(0x1000))!.Value.Value);
        k.Exit(child);
        k.Exit(parent);
        Assert.Equal(boot + 1, k.Frames.InUse);
        Assert.Equal(1, k.ZeroPageFrames);
    }

    [Fact]
    public void With_thp_a_read_maps_the_huge_zero_page_and_a_write_splits_it_into_512_zero_leaves_then_copies_one()
    {
        var h = new KernelHarness(new KernelOptions { Thp = true });
        var k = h.Kernel;
        var p = h.Running();

        // read, ptwrite PML4[0], PDPT[0], PD[1] = the huge zero page (PS, read-only), read.
        var read = h.Take(() => k.Access(0, TraceOp.Read, new Gva(0x20_0000)));
        Assert.Equal("read ptwrite ptwrite ptwrite read", KernelHarness.Ops(read));
        Assert.Equal(GuestKernel.ZeroFlags | Pte.Ps, read[3].Value & ~Pte.AddrMask);
        ulong hugeZero = FrameIn(read[3].Value);
        Assert.Equal(0UL, hugeZero % Pte.EntriesPerTable);
        Assert.Equal(hugeZero + 0x1FF, k.FrameOf(p, new Gva(0x3F_F000))!.Value.Value);
        Assert.Equal(512, k.ZeroPageFrames);

        // write (fails), PD[1] cleared, the 2 MiB flushed, 512 leaves of the 4 KiB zero page written into a new
        // table, PD[1] linked to it, then wp_page_copy of the written page: leaf cleared, INVLPG, new leaf, write.
        var ev = h.Take(() => k.Access(0, TraceOp.Write, new Gva(0x3F_F000)));
        var ops = KernelHarness.Ops(ev).Split(' ');
        Assert.Equal("write", ops[0]);
        Assert.Equal(0UL, ev[1].Value);
        int fill = Array.FindIndex(ops, 2, o => o == "ptwrite");
        Assert.All(ops[2..fill], o => Assert.NotEqual("ptwrite", o)); // the 2 MiB invalidation
        Assert.Equal(Enumerable.Repeat("ptwrite", 512), ops[fill..(fill + 512)]);
        Assert.All(ev.Skip(fill).Take(512), e => Assert.Equal(GuestKernel.ZeroFlags, e.Value & ~Pte.AddrMask));
        ulong zero = FrameIn(ev[fill].Value);
        Assert.All(ev.Skip(fill).Take(512), e => Assert.Equal(zero, FrameIn(e.Value)));
        Assert.Equal(read[3].Pa, ev[fill + 512].Pa);
        Assert.Equal(GuestKernel.TableFlags, ev[fill + 512].Value & ~Pte.AddrMask);
        Assert.Equal("ptwrite invlpg ptwrite write", string.Join(' ', ops[(fill + 513)..]));
        Assert.Equal(513, k.ZeroPageFrames);

        // Every other page of the 2 MiB now reads the 4 KiB zero page, and the written one is private.
        Assert.Equal(zero, k.FrameOf(p, new Gva(0x20_0000))!.Value.Value);
        Assert.NotEqual(zero, k.FrameOf(p, new Gva(0x3F_F000))!.Value.Value);
    }

    [Fact]
    public void Reclaim_never_takes_the_zero_page()
    {
        var h = new KernelHarness(new KernelOptions { MemoryBytes = 64UL << 20 });
        var k = h.Kernel;
        var p = h.Running();
        k.Access(0, TraceOp.Read, new Gva(0x1000));
        ulong zero = k.FrameOf(p, new Gva(0x1000))!.Value.Value;
        for (int i = 0; i < 20_000; i++)
        {
            k.Access(0, TraceOp.Write, new Gva(0x100_0000 + ((ulong)i << 12)));
        }

        Assert.True(k.Reclaims > 0);
        Assert.Equal(zero, k.FrameOf(p, new Gva(0x1000))!.Value.Value);
    }
}
