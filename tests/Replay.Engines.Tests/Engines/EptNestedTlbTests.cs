using Replay.Engines.Ept;
using Replay.Engines.Guest;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// ept's nested TLB as the reports see it: <c>EngineStats.NestedTlbHits</c> (the report's <c>nested_tlb_hits</c>) is the
/// engine's own <c>nested_tlb_hits</c> counter, and every reference of a 2-D walk, guest or EPT, is looked up in the
/// memory hierarchy and counted by the level that served it. TestTrace puts the tables at frames 0x10–0x13, in the
/// first 2 MiB of guest-physical memory.
/// </summary>
public sealed class EptNestedTlbTests
{
    private const ulong A = 0x40_0000; // PML4 0, PDPT 0, PD 2, PT 0
    private const ulong B = 0x40_1000; // the next page, same page table

    private static EptEngine Ept(bool prepopulate = true, bool largePages = false, int vcpus = 1) =>
        new(MachineConfig.Default(vcpus), new EptOptions(prepopulate, 4, largePages));

    /// <summary>cr3; read A (data frame 0x100, gpa 1 MiB); read B (data frame 0x101, the next 4 KiB of the same 2 MiB).</summary>
    private static TestTrace TwoPages()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, B, 0x101);
        t.Cr3(r);
        t.Read(A);
        t.Read(B);
        return t;
    }

    [Fact]
    public void With_large_host_pages_the_second_walk_in_a_2MiB_region_finds_its_data_gpa_in_the_nested_TLB()
    {
        var e = TwoPages().Run(Ept(largePages: true));

        // Default geometry (guest PSC 2/4/32, nested TLB 32, EPT PSC 2/4/32); EPT leaves are 2 MiB PDEs, so a nested-TLB
        // entry covers a whole 2 MiB of gpa, and all of 0x10000–0x13000 and 0x100000–0x101FFF is gpa region 0.
        // read A: root gpa 0x10000 misses the nested TLB and the (empty) EPT PSC: EPT PML4E, PDPTE, PDE = 3 refs, then
        //   the guest PML4E 1. PDPT, PD and PT gpas and the data gpa 0x100000 hit the nested TLB: the guest PDPTE, PDE
        //   and PTE only, 3. = 7 refs (guest 4, EPT 3), 4 nested hits, 1 miss.
        // read B: TLB miss; the guest PDE cache holds va 0x400000's PDE: only the PT is read, its gpa 0x13000 a nested
        //   hit, guest PTE 1; the data gpa 0x101000 is in the same 2 MiB as 0x100000: a nested hit, 0 refs.
        //   = 1 ref, 2 nested hits.
        Assert.Equal(2, e.Stats.TlbMisses);
        Assert.Equal(7 + 1, e.Stats.WalkRefs);
        Assert.Equal(3, e.Counter("ept_walk_refs"));
        Assert.Equal(4 + 2, e.Counter("nested_tlb_hits"));
        Assert.Equal(1, e.Counter("nested_tlb_misses"));
        Assert.Equal(4 + 2, e.Stats.NestedTlbHits);
    }

    [Fact]
    public void With_4KiB_host_pages_the_second_walk_misses_the_nested_TLB_for_its_data_gpa()
    {
        var e = TwoPages().Run(Ept(largePages: false));

        // read A: 12 refs, 5 nested misses (EptEngineTests: the root's full EPT walk, then one EPT PTE per table and for
        //   the data gpa from below the EPT PDE-cache hit).
        // read B: PT gpa 0x13000 hits the nested TLB (its 4 KiB page was translated by read A), guest PTE 1; data gpa
        //   0x101000 is another 4 KiB page: a nested miss, the EPT PDE cache hits, EPT PTE 1. = 2 refs, 1 hit, 1 miss.
        Assert.Equal(12 + 2, e.Stats.WalkRefs);
        Assert.Equal(8 + 1, e.Counter("ept_walk_refs"));
        Assert.Equal(1, e.Counter("nested_tlb_hits"));
        Assert.Equal(5 + 1, e.Counter("nested_tlb_misses"));
        Assert.Equal(1, e.Stats.NestedTlbHits);
    }

    [Fact]
    public void Every_reference_of_every_attempt_is_served_by_some_level_on_a_random_trace()
    {
        var t = RandomTrace(new Random(20090301));
        foreach (var e in new[] { t.Run(Ept(prepopulate: false, vcpus: 2)), t.Run(Ept(vcpus: 2)), t.Run(Ept(prepopulate: false, largePages: true, vcpus: 2)) })
        {
            // The cold runs take EPT violations; the references of an attempt stopped by one are counted too.
            Assert.True(e.Stats.NestedTlbHits > 0);
            Assert.Equal(e.Counter("nested_tlb_hits"), e.Stats.NestedTlbHits);
            Assert.Equal(e.Stats.WalkRefs, e.Stats.WalkL1 + e.Stats.WalkL2 + e.Stats.WalkL3 + e.Stats.WalkMem);
            Assert.Equal(e.Stats.WalkRefs, e.Counter("guest_walk_refs") + e.Counter("ept_walk_refs"));
        }
    }

    /// <summary>Two vCPUs over one hierarchy: reads, writes and fetches of 12 pages spread over guest-physical memory, remaps with INVLPG, CR3 reloads.</summary>
    private static TestTrace RandomTrace(Random rng)
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        ulong[] pages = [A, B, A + 0x3000, 0x80_0000, 0x7FFF_F000, 0x4000_0000, 0x4020_0000, 0x1_0000_0000, 0x1000_0000, 0x1000_5000, 0x2000_0000, 0x7F00_0000_0000];
        for (int i = 0; i < pages.Length; i++)
        {
            t.Map(r, pages[i], 0x100 + ((ulong)i * 0x801)); // frames in different 2 MiB regions of gpa
        }

        t.Cr3(r, vcpu: 0);
        t.Cr3(r, vcpu: 1);
        for (int i = 0; i < 3000; i++)
        {
            int vcpu = rng.Next(2);
            ulong va = pages[rng.Next(pages.Length)];
            switch (rng.Next(12))
            {
                case 0:
                    t.SetLeaf(r, va, ((0x100 + ((ulong)rng.Next(4096) * 0x41)) << 12) | TestTrace.UserRw);
                    t.Invlpg(va, vcpu: 0);
                    t.Invlpg(va, vcpu: 1);
                    break;
                case 1:
                    t.Cr3(r, vcpu: vcpu);
                    break;
                case 2:
                    t.Write(va + (ulong)rng.Next(4096), vcpu: vcpu);
                    break;
                case 3:
                    t.Fetch(va, vcpu: vcpu);
                    break;
                default:
                    t.Read(va + (ulong)rng.Next(4096), vcpu: vcpu);
                    break;
            }
        }

        return t;
    }
}
