using Replay.Driver;
using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Tests.Driver;

/// <summary>The SPEC §1 well-formedness rules, each shown broken once and kept once.</summary>
public sealed class TraceCheckerTests
{
    private const ulong Va = 0x40_0000;           // PML4 0, PDPT 0, PD 2, PT 0
    private const ulong Root = 0x10, Pdpt = 0x11, Pd = 0x12, Pt = 0x13, Data = 0x100;
    private const ulong Table = Pte.Present | Pte.Rw | Pte.Us;
    private static readonly ulong LeafPa = (Pt << 12) + 0;

    [Fact]
    public void Using_a_va_after_its_leaf_was_cleared_without_an_invalidation_is_a_warning()
    {
        var b = Mapped();
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);
        b.Add(TraceOp.Read, va: Va + 0x10);
        Assert.Equal(1, Check(b));
    }

    [Theory]
    [InlineData(TraceOp.Invlpg)]
    [InlineData(TraceOp.Cr3)]
    [InlineData(TraceOp.Flush)]
    public void An_invalidation_between_the_clearing_write_and_the_use_keeps_the_trace_well_formed(TraceOp invalidation)
    {
        var b = Mapped();
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);
        b.Add(invalidation, va: Va, value: invalidation == TraceOp.Cr3 ? Root << 12 : 0);
        b.Add(TraceOp.Read, va: Va);
        Assert.Equal(0, Check(b));
    }

    [Fact]
    public void Widening_a_translation_needs_no_invalidation()
    {
        var b = Mapped(leafFlags: Pte.Present | Pte.Us);
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: (Data << 12) | Pte.Present | Pte.Us | Pte.Rw);
        b.Add(TraceOp.Write, va: Va);
        Assert.Equal(0, Check(b));
    }

    [Fact]
    public void Removing_write_permission_is_a_narrowing()
    {
        var b = Mapped();
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: (Data << 12) | Pte.Present | Pte.Us);
        b.Add(TraceOp.Read, va: Va);
        Assert.Equal(1, Check(b));
    }

    [Fact]
    public void Clearing_a_page_directory_entry_narrows_the_whole_2MiB_range_it_mapped()
    {
        var b = Mapped();
        b.Add(TraceOp.PtWrite, pa: (Pd << 12) + (2 * 8), value: 0);
        b.Add(TraceOp.Read, va: Va + 0x1F_F000); // last page of the 2 MiB range
        b.Add(TraceOp.Read, va: Va + 0x20_0000); // the next range: not affected
        Assert.Equal(1, Check(b));
    }

    [Fact]
    public void A_CR3_reload_does_not_cover_a_narrowed_global_page_but_flush_1_does()
    {
        var b = Mapped(leafFlags: Pte.Present | Pte.Rw | Pte.Global);
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);
        b.Add(TraceOp.Cr3, value: Root << 12);
        b.Add(TraceOp.Read, va: Va, user: false);      // still cached as global: warning
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: (Data << 12) | Pte.Present | Pte.Rw | Pte.Global);
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);
        b.Add(TraceOp.Flush, value: 1);
        b.Add(TraceOp.Read, va: Va, user: false);      // flushed: fine
        Assert.Equal(1, Check(b));
    }

    [Fact]
    public void Another_vCPU_running_the_same_address_space_needs_its_own_invalidation()
    {
        var b = Mapped();
        b.Add(TraceOp.Cr3, value: Root << 12, vcpu: 1);
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);
        b.Add(TraceOp.Invlpg, va: Va);                 // only vCPU 0 invalidates (no shootdown)
        b.Add(TraceOp.Read, va: Va, vcpu: 0);
        b.Add(TraceOp.Read, va: Va, vcpu: 1);          // warning
        Assert.Equal(1, Check(b, vcpus: 2));
    }

    [Fact]
    public void Without_pcid_a_vCPU_that_switched_to_another_root_no_longer_caches_the_old_one()
    {
        var b = Mapped();
        b.Add(TraceOp.Cr3, value: 0x20UL << 12);      // vCPU 0 now runs another address space (same va unmapped there)
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);  // the first address space loses Va
        b.Add(TraceOp.Read, va: Va);                   // another address space's Va: fine
        Assert.Equal(0, Check(b));
    }

    [Fact]
    public void With_pcid_stale_entries_live_on_under_their_pcid_until_it_is_flushed_or_reloaded_with_a_flush()
    {
        var b = Mapped(pcid: 1);
        b.Add(TraceOp.Cr3, value: (0x20UL << 12) | 2 | Pte.Cr3NoFlush); // switch away, keeping PCID 1's entries
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);
        b.Add(TraceOp.Read, va: Va);                                     // under PCID 2: fine
        b.Add(TraceOp.Invlpg, va: Va);                                   // invalidates PCID 2 only
        b.Add(TraceOp.Cr3, value: (Root << 12) | 1 | Pte.Cr3NoFlush);    // back, keeping PCID 1
        b.Add(TraceOp.Read, va: Va);                                     // warning: the stale entry is used
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: (Data << 12) | Pte.Present | Pte.Rw | Pte.Us);
        b.Add(TraceOp.Cr3, value: (0x20UL << 12) | 2 | Pte.Cr3NoFlush);
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);
        b.Add(TraceOp.Cr3, value: (Root << 12) | 1);                     // back with a flush of PCID 1
        b.Add(TraceOp.Read, va: Va);                                     // fine
        Assert.Equal(1, Check(b, pcid: true));
    }

    [Theory]
    [InlineData(TraceOp.Read, 0x0000_8000_0000_0000UL, 0UL)]  // bit 47 set, upper bits clear: non-canonical
    [InlineData(TraceOp.Flush, 0UL, 5UL)]                     // flush takes 0 or 1
    [InlineData(TraceOp.Cr3, 0UL, (Root << 12) | (1UL << 63))] // bit 63 with PCID off
    public void Malformed_single_events_are_warnings(TraceOp op, ulong va, ulong value)
    {
        var b = new EventBatch(4);
        b.Add(TraceOp.PtInit, pa: Root << 12, value: 0); // the root exists (loading one nothing wrote is a warning of its own)
        b.Add(op, va: va, value: value);
        Assert.Equal(1, Check(b));
    }

    [Fact]
    public void Time_going_backwards_on_a_vCPU_is_a_warning_but_not_across_vCPUs()
    {
        var b = new EventBatch(4) { HasTime = true };
        b.Add(TraceOp.Mark, value: 1, vcpu: 0, time: 100);
        b.Add(TraceOp.Mark, value: 1, vcpu: 1, time: 50);
        b.Add(TraceOp.Mark, value: 1, vcpu: 0, time: 90);
        Assert.Equal(1, Check(b, vcpus: 2));
    }

    [Fact]
    public void A_vCPU_beyond_the_declared_count_is_an_error_naming_the_row()
    {
        var b = new EventBatch(4);
        b.Add(TraceOp.Read, va: Va);
        b.Add(TraceOp.Read, va: Va, vcpu: 3);
        var ex = Assert.Throws<Replay.TraceIO.TraceFormatException>(() => Check(b, vcpus: 2));
        Assert.Contains("row 1", ex.Message);
        Assert.Contains("'vcpu'", ex.Message);
    }

    [Fact]
    public void Strict_mode_turns_the_first_warning_into_an_error_with_its_row()
    {
        var b = Mapped();
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);
        b.Add(TraceOp.Read, va: Va);
        var ex = Assert.Throws<TraceWarningException>(() => Check(b, strict: true));
        Assert.Contains($"row {b.Count - 1}", ex.Message);
    }

    [Fact]
    public void An_access_inside_two_pending_ranges_takes_the_one_narrowed_first()
    {
        // The PTE of Va is cleared (a 4 KiB range), then the PDE above it (the 2 MiB range holding it), no invalidation.
        // A read of Va takes the earliest range containing it, the 4 KiB one: a warning. A read of the next page is then
        // still inside the 2 MiB range: a second warning. Taking the 2 MiB range first would leave the next page clean.
        var b = Mapped();
        b.Add(TraceOp.PtWrite, pa: LeafPa, value: 0);
        b.Add(TraceOp.PtWrite, pa: (Pd << 12) + (2 * 8), value: 0);
        b.Add(TraceOp.Read, va: Va);
        b.Add(TraceOp.Read, va: Va + 0x1000);
        b.Add(TraceOp.Read, va: Va + 0x2000); // both ranges used up
        b.Add(TraceOp.Read, va: Va);
        Assert.Equal(2, Check(b));
    }

    [Fact]
    public void An_access_costs_a_lookup_per_page_size_pending_however_many_ranges_are_pending()
    {
        // 256 mapped pages whose PTEs are all cleared without an invalidation: 256 pending 4 KiB ranges. 100,000 reads
        // of other pages look at none of them (a scan per access looked at all 256: 25.6M for these reads), and a read
        // of a cleared page looks at exactly one, and warns.
        var b = new EventBatch(100_600);
        b.Add(TraceOp.PtInit, pa: Root << 12, value: (Pdpt << 12) | Table);
        b.Add(TraceOp.PtInit, pa: Pdpt << 12, value: (Pd << 12) | Table);
        b.Add(TraceOp.PtInit, pa: (Pd << 12) + (2 * 8), value: (Pt << 12) | Table);
        for (ulong i = 0; i < 256; i++)
        {
            b.Add(TraceOp.PtInit, pa: LeafPa + (i * 8), value: ((Data + i) << 12) | Pte.Present | Pte.Rw | Pte.Us);
        }

        b.Add(TraceOp.Cr3, value: Root << 12);
        for (ulong i = 0; i < 256; i++)
        {
            b.Add(TraceOp.PtWrite, pa: LeafPa + (i * 8), value: 0);
        }

        for (int i = 0; i < 100_000; i++)
        {
            b.Add(TraceOp.Read, va: Va + 0x10_0000 + ((ulong)(i % 256) << 12)); // pages 256-511 of the PT: none pending
        }

        var checker = new TraceChecker("t.pq", new TraceInfo { Vcpus = 1 }, strict: false);
        checker.Check(b, 0, b.Count);
        Assert.Equal((0L, 0L), (checker.Warnings, checker.PendingExamined));

        var one = new EventBatch(1);
        one.Add(TraceOp.Read, va: Va + (5 << 12));
        checker.Check(one, 0, 1);
        Assert.Equal((1L, 1L), (checker.Warnings, checker.PendingExamined));
    }

    /// <summary>A 4-level hierarchy mapping Va as initial contents, loaded on vCPU 0, and one read through it.</summary>
    private static EventBatch Mapped(ulong leafFlags = Pte.Present | Pte.Rw | Pte.Us, ulong pcid = 0)
    {
        var b = new EventBatch(16);
        b.Add(TraceOp.PtInit, pa: Root << 12, value: (Pdpt << 12) | Table);
        b.Add(TraceOp.PtInit, pa: Pdpt << 12, value: (Pd << 12) | Table);
        b.Add(TraceOp.PtInit, pa: (Pd << 12) + (2 * 8), value: (Pt << 12) | Table);
        b.Add(TraceOp.PtInit, pa: LeafPa, value: (Data << 12) | leafFlags);
        b.Add(TraceOp.Cr3, value: (Root << 12) | pcid);
        b.Add(TraceOp.Read, va: Va, user: (leafFlags & Pte.Us) != 0);
        b.Add(TraceOp.PtInit, pa: 0x20UL << 12, value: 0); // another address space's root, for the tests that switch to it
        return b;
    }

    private static long Check(EventBatch b, int vcpus = 1, bool strict = false, bool pcid = false)
    {
        var checker = new TraceChecker("t.pq", new TraceInfo { Vcpus = vcpus, Pcid = pcid }, strict);
        checker.Check(b, 0, b.Count);
        return checker.Warnings;
    }
}
