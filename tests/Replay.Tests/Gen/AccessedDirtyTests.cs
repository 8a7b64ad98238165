using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

/// <summary>
/// The accessed and dirty bits of the entries the guest kernel writes, as Linux x86 writes them: every user protection
/// (<c>PAGE_SHARED</c>, <c>PAGE_COPY</c>, <c>PAGE_READONLY</c>… in <c>arch/x86/include/asm/pgtable_types.h</c>) carries
/// <c>_PAGE_ACCESSED</c>, so a new leaf is young; <c>do_anonymous_page</c>, <c>wp_page_copy</c> and <c>wp_page_reuse</c>
/// make a written leaf dirty (<c>pte_mkdirty</c>); a table entry is <c>_PAGE_TABLE</c> (present, RW, user, accessed,
/// dirty: 0x067); fork's <c>copy_present_pte</c> write-protects the parent's leaf and makes the child's copy old
/// (<c>pte_mkold</c>). A shadow MMU propagates only a guest entry whose A bit is set (Xen's <c>_sh_propagate</c>), so
/// these bits decide whether a write it emulates leaves a present shadow entry or a fault to come.
/// </summary>
public sealed class AccessedDirtyTests
{
    private const ulong Nx = Pte.Nx;
    private const ulong SoftCow = GuestKernel.SoftCow;

    private static ulong Flags(ulong entry) => entry & ~Pte.AddrMask;

    [Fact]
    public void A_read_fault_writes_a_young_read_only_zero_page_leaf_under_accessed_dirty_tables()
    {
        var h = new KernelHarness();
        var p = h.Kernel.CreateProcess();
        h.Kernel.Run(0, p);
        var ev = h.Take(() => h.Kernel.Access(0, TraceOp.Read, new Gva(0x1000)));

        Assert.Equal("read ptwrite ptwrite ptwrite ptwrite read", KernelHarness.Ops(ev));
        Assert.All(ev.Skip(1).Take(3), e => Assert.Equal(0x067UL, Flags(e.Value))); // _PAGE_TABLE
        Assert.Equal(Nx | 0x025, Flags(ev[4].Value));                              // P US A, NX: PAGE_COPY, the zero page
    }

    [Fact]
    public void A_write_fault_writes_a_young_dirty_leaf_and_a_fetch_a_young_executable_one()
    {
        var h = new KernelHarness();
        var p = h.Kernel.CreateProcess();
        h.Kernel.Run(0, p);
        var write = h.Take(() => h.Kernel.Access(0, TraceOp.Write, new Gva(0x1000)));
        Assert.Equal(Nx | 0x067, Flags(write[^2].Value));                          // P RW US A D, NX
        var fetch = h.Take(() => h.Kernel.Access(0, TraceOp.Fetch, new Gva(0x40_0000)));
        Assert.Equal(0x025UL, Flags(fetch[^2].Value));                             // P US A: read-only text
    }

    [Fact]
    public void Fork_keeps_the_parents_leaf_young_and_dirty_makes_the_childs_copy_old_and_a_cow_break_writes_a_young_dirty_leaf()
    {
        var h = new KernelHarness();
        var k = h.Kernel;
        var parent = k.CreateProcess();
        k.Run(0, parent);
        k.Access(0, TraceOp.Write, new Gva(0x1000));
        ulong frame = k.FrameOf(parent, new Gva(0x1000))!.Value.Value;

        Process child = null!;
        var fork = h.Take(() => child = k.Fork(0, parent));
        var leaves = fork.Where(e => e.Op == TraceOp.PtWrite && (e.Value & Pte.AddrMask) >> 12 == frame).ToList();
        Assert.Equal(2, leaves.Count);                       // the parent's, write-protected; then the child's copy
        Assert.Equal(Nx | SoftCow | 0x065, Flags(leaves[0].Value)); // P US A D, RW cleared, marked copy-on-write
        Assert.Equal(Nx | SoftCow | 0x045, Flags(leaves[1].Value)); // the same, old

        k.Run(0, child);
        var cow = h.Take(() => k.Access(0, TraceOp.Write, new Gva(0x1008)));
        Assert.Equal("write ptwrite invlpg ptwrite write", KernelHarness.Ops(cow));
        Assert.Equal(Nx | 0x067, Flags(cow[3].Value));                            // the private copy: P RW US A D
    }
}
