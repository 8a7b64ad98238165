using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

public sealed class DemandPagingTests
{
    [Fact]
    public void First_touch_of_a_page_in_a_fresh_process_is_a_failing_access_four_table_writes_and_the_retry()
    {
        var h = new KernelHarness();
        var p = h.Kernel.CreateProcess();
        h.Kernel.Run(0, p);

        // Nothing mapped below the root: read 0x1000 (walk fails), ptwrite PML4[0] -> new PDPT, PDPT[0] -> new PD,
        // PD[0] -> new PT, PT[1] -> the zero page (read-only leaf), retried read = 6 events.
        var ev = h.Take(() => h.Kernel.Access(0, TraceOp.Read, new Gva(0x1000)));
        Assert.Equal("read ptwrite ptwrite ptwrite ptwrite read", KernelHarness.Ops(ev));
        Assert.All(new[] { ev[0], ev[5] }, e => Assert.True(e.User && e.Va == 0x1000));
        Assert.Equal(p.Root << 12, ev[1].Pa);
        Assert.Equal((ev[1].Value & Pte.AddrMask) | 0, ev[2].Pa);          // PDPT index 0
        Assert.Equal(ev[2].Value & Pte.AddrMask, ev[3].Pa);                // PD index 0
        Assert.Equal((ev[3].Value & Pte.AddrMask) + 8, ev[4].Pa);          // PT index 1
        Assert.Equal(GuestKernel.TableFlags, ev[1].Value & 0xFFF);
        Assert.Equal(GuestKernel.ZeroFlags, ev[4].Value & ~Pte.AddrMask);

        // The neighbour shares every table: read (fails), ptwrite PT[2], read = 3 events. Then it is mapped: 1 event.
        Assert.Equal("read ptwrite read", KernelHarness.Ops(h.Take(() => h.Kernel.Access(0, TraceOp.Read, new Gva(0x2000)))));
        Assert.Equal("read", KernelHarness.Ops(h.Take(() => h.Kernel.Access(0, TraceOp.Read, new Gva(0x2008)))));

        // A write to a page never touched before maps a fresh writable page at once: write, ptwrite PT[3], write.
        Assert.Equal("write ptwrite write", KernelHarness.Ops(h.Take(() => h.Kernel.Access(0, TraceOp.Write, new Gva(0x3000)))));
        Assert.Equal("write", KernelHarness.Ops(h.Take(() => h.Kernel.Access(0, TraceOp.Write, new Gva(0x3008)))));
    }

    [Fact]
    public void A_fetch_maps_an_executable_read_only_page_from_the_page_cache_and_a_later_write_copies_it()
    {
        var h = new KernelHarness();
        var p = h.Kernel.CreateProcess();
        h.Kernel.Run(0, p);
        var ev = h.Take(() => h.Kernel.Access(0, TraceOp.Fetch, new Gva(0x40_0000)));
        Assert.Equal(GuestKernel.CodeFlags, ev[^2].Value & ~Pte.AddrMask);

        // A write to a private mapping of a file page copies it (the page cache keeps the original): write (fails:
        // read-only), ptwrite leaf = 0, invlpg, ptwrite a private writable copy, write = 5.
        Gfn text = h.Kernel.FrameOf(p, new Gva(0x40_0000))!.Value;
        ev = h.Take(() => h.Kernel.Access(0, TraceOp.Write, new Gva(0x40_0010)));
        Assert.Equal("write ptwrite invlpg ptwrite write", KernelHarness.Ops(ev));
        Assert.Equal(0x40_0000UL, ev[2].Va);
        Assert.NotEqual(text, h.Kernel.FrameOf(p, new Gva(0x40_0000)));
        Assert.Equal(1, h.Kernel.PageCacheFrames);
    }

    [Fact]
    public void With_thp_a_data_fault_in_an_empty_2_MiB_region_maps_one_huge_leaf()
    {
        var h = new KernelHarness(new KernelOptions { Thp = true });
        var p = h.Kernel.CreateProcess();
        h.Kernel.Run(0, p);

        // write, ptwrite PML4[0], PDPT[0], PD[1] = 2 MiB leaf (PS), write = 5; the whole 2 MiB is then mapped.
        var ev = h.Take(() => h.Kernel.Access(0, TraceOp.Write, new Gva(0x20_0000)));
        Assert.Equal("write ptwrite ptwrite ptwrite write", KernelHarness.Ops(ev));
        Assert.NotEqual(0UL, ev[3].Value & Pte.Ps);
        Assert.Equal(0UL, (ev[3].Value & Pte.AddrMask) % (2 << 20));
        Assert.Equal("write", KernelHarness.Ops(h.Take(() => h.Kernel.Access(0, TraceOp.Write, new Gva(0x3F_F000)))));
        Assert.Equal(h.Kernel.FrameOf(p, new Gva(0x20_0000))!.Value.Value + 0x1FF, h.Kernel.FrameOf(p, new Gva(0x3F_F000))!.Value.Value);
    }

    [Fact]
    public void With_five_levels_the_first_touch_writes_five_table_entries()
    {
        var h = new KernelHarness(new KernelOptions { PagingLevels = 5 });
        var p = h.Kernel.CreateProcess();
        h.Kernel.Run(0, p);
        Assert.Equal("read ptwrite ptwrite ptwrite ptwrite ptwrite read", KernelHarness.Ops(h.Take(() => h.Kernel.Access(0, TraceOp.Read, new Gva(0x1000)))));
    }

    [Fact]
    public void When_memory_runs_out_the_kernel_reclaims_user_pages_instead_of_failing()
    {
        var h = new KernelHarness(new KernelOptions { MemoryBytes = 64UL << 20 });
        var p = h.Kernel.CreateProcess();
        h.Kernel.Run(0, p);
        for (int i = 0; i < 20_000; i++)
        {
            h.Kernel.Access(0, TraceOp.Write, new Gva(0x1000_0000UL + ((ulong)i << 12))); // 80 MiB of pages in 64 MiB
        }

        Assert.True(h.Kernel.Reclaims > 0);
        Assert.True(h.Kernel.Frames.InUse <= (64L << 20) >> 12);
        Assert.Null(h.Kernel.FrameOf(p, new Gva(0x1000_0000))); // the oldest page went first
        Assert.NotNull(h.Kernel.FrameOf(p, new Gva(0x1000_0000UL + (19_999UL << 12))));
    }

    [Fact]
    public void Memory_that_cannot_even_hold_the_page_tables_fails_with_one_clear_error_naming_memory()
    {
        var h = new KernelHarness(new KernelOptions { MemoryBytes = 64UL << 20 });
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                var p = h.Kernel.CreateProcess(); // roots are never reclaimed
                h.Kernel.Run(0, p);
            }
        });
        Assert.Contains("--memory", ex.Message);
    }
}
