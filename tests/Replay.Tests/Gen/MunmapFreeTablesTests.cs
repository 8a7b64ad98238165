using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

/// <summary>
/// munmap frees the page tables the unmapping emptied (Linux's <c>free_pgtables</c>: each table's entry above it
/// cleared, the table freed), and each freed table widens the TLB flush to the first page of its range
/// (<c>pte_free_tlb</c>/<c>pmd_free_tlb</c> adjust the mmu_gather range by the table's address and one page), so the
/// flush may pass Linux's 33-page ceiling.
/// </summary>
public sealed class MunmapFreeTablesTests
{
    private const ulong Base = 0x2000_0000; // 2 MiB-aligned: the first page of a page table's range

    [Fact]
    public void Unmapping_a_region_at_the_start_of_an_otherwise_empty_page_table_frees_it_and_invalidates_page_by_page()
    {
        var h = new KernelHarness();
        var k = h.Kernel;
        var p = h.Running();
        k.Access(0, TraceOp.Write, new Gva(0x1000)); // another page table under the same PD keeps the PD
        for (int i = 0; i < 3; i++)
        {
            k.Access(0, TraceOp.Write, new Gva(Base + ((ulong)i << 12)));
        }

        ulong pdEntry = ParentEntryOf(h, k, p, Base);
        long before = k.Frames.InUse;
        var ev = h.Take(() => k.Munmap(0, new Gva(Base), 3));

        // Three leaves zeroed, the PD entry zeroed, then INVLPG over [Base, Base + 3 pages): the table's first page is Base.
        Assert.Equal("ptwrite ptwrite ptwrite ptwrite invlpg invlpg invlpg", KernelHarness.Ops(ev));
        Assert.All(ev.Take(4), e => Assert.Equal(0UL, e.Value));
        Assert.Equal(pdEntry, ev[3].Pa);
        Assert.Equal([Base, Base + 0x1000, Base + 0x2000], ev.Skip(4).Select(e => e.Va));
        Assert.Equal(before - 3 - 1, k.Frames.InUse); // three data pages and the page table
        Assert.NotNull(k.FrameOf(p, new Gva(0x1000)));

        // The next touch there allocates a page table again: fault, PD entry, leaf, retry.
        Assert.Equal("write ptwrite ptwrite write", KernelHarness.Ops(h.Take(() => k.Access(0, TraceOp.Write, new Gva(Base)))));
    }

    [Fact]
    public void A_freed_table_whose_range_starts_below_the_region_widens_the_invalidation_into_a_flush()
    {
        var h = new KernelHarness();
        var k = h.Kernel;
        var p = h.Running();
        k.Access(0, TraceOp.Write, new Gva(0x1000));
        ulong region = Base + (1UL << 20); // 1 MiB into the page table's range
        k.Access(0, TraceOp.Write, new Gva(region));

        // [Base, region + 1 page) is 257 pages: past the ceiling, one flush.
        Assert.Equal("ptwrite ptwrite flush", KernelHarness.Ops(h.Take(() => k.Munmap(0, new Gva(region), 1))));
    }

    [Fact]
    public void A_page_table_another_page_still_maps_is_kept()
    {
        var h = new KernelHarness();
        var k = h.Kernel;
        var p = h.Running();
        k.Access(0, TraceOp.Write, new Gva(Base));
        k.Access(0, TraceOp.Write, new Gva(Base + 0x10_0000));
        Assert.Equal("ptwrite invlpg", KernelHarness.Ops(h.Take(() => k.Munmap(0, new Gva(Base), 1))));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Unmapping_the_only_mapping_frees_every_table_below_the_root_and_under_kpti_clears_both_roots(bool kpti)
    {
        var h = new KernelHarness(new KernelOptions { Kpti = kpti, Pcid = kpti });
        var k = h.Kernel;
        long boot = k.Frames.InUse;
        var p = h.Running();
        long withRoots = k.Frames.InUse;
        k.Access(0, TraceOp.Write, new Gva(Base));
        var ev = h.Take(() => k.Munmap(0, new Gva(Base), 1)).Where(e => e.Op != TraceOp.Cr3).ToList(); // KPTI: the kernel entry's CR3 load

        // Leaf, PD entry, PDPT entry, PML4 entry (and its user-root copy), then the flush over [0, Base + 1 page).
        Assert.Equal(kpti ? "ptwrite ptwrite ptwrite ptwrite ptwrite flush" : "ptwrite ptwrite ptwrite ptwrite flush", KernelHarness.Ops(ev));
        Assert.All(ev.SkipLast(1), e => Assert.Equal(0UL, e.Value));
        Assert.Equal(withRoots, k.Frames.InUse);
        Assert.True(withRoots > boot);
        Assert.Null(k.FrameOf(p, new Gva(Base)));
    }

    /// <summary>The address of the PD entry that links <paramref name="va"/>'s page table.</summary>
    private static ulong ParentEntryOf(KernelHarness h, GuestKernel k, Process p, ulong va)
    {
        var ev = h.Take(() => k.Access(0, TraceOp.Write, new Gva(va + 0x1FF000))); // maps one more page in the same table
        Assert.Equal("write ptwrite write", KernelHarness.Ops(ev));
        h.Take(() => k.Munmap(0, new Gva(va + 0x1FF000), 1)); // and unmaps it: the table still holds the region
        ulong leafPa = ev[1].Pa;
        ulong table = leafPa & ~Pte.PageOffsetMask;
        return h.Events.First(e => e.Op == TraceOp.PtWrite && (e.Value & Pte.AddrMask) == table).Pa;
    }
}
