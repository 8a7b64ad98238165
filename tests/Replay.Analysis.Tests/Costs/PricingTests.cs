using Replay.Analysis.Costs;
using Replay.Engines.Contract;

namespace Replay.Analysis.Tests.Costs;

public class PricingTests
{
    private static readonly ExitKind Fill = new(ExitReason.ExceptionNmi, "shadow_fill");
    private static readonly ExitKind Cr3 = new(ExitReason.CrAccess, "cr3_flush");

    /// <summary>
    /// Round profile: vmexit 1000; shadow_fill 500 + 200/unit; cr3_flush 300 + 2/unit; a walk reference 10 from L1,
    /// 20 from L2, 40 from L3, 100 from memory, 2 per psc hit, 1 per nested-TLB hit; guest 1/access, 0.5/insn, 1000/fault.
    /// </summary>
    internal static EngineStats TwoKinds()
    {
        var s = new EngineStats(2, 0)
        {
            Accesses = 1000, PtWrites = 20, GuestFaults = 2, PscHits = 5, NestedTlbHits = 3, Insns = 2000,
            WalkRefs = 50, WalkL1 = 30, WalkL2 = 10, WalkL3 = 5, WalkMem = 5,
        };
        s.ExitCounts[0] = 3; s.ExitUnits[0] = 4;    // 3 hidden faults that built 4 shadow pages
        s.ExitCounts[1] = 2; s.ExitUnits[1] = 100;  // 2 CR3 loads that dropped 100 entries
        return s;
    }

    [Fact]
    public void One_exit_kind_costs_count_times_transition_and_fixed_plus_units_times_per_unit()
    {
        // 3 × (1000 + 500) + 4 × 200 = 4500 + 800 = 5300
        Assert.Equal(5300, Pricing.ExitCycles(TestProfiles.Round, Fill, 3, 4));
        // PV kinds pay their own transition: 2 × (50 + 70) + 3 × 20 = 240 + 60 = 300
        Assert.Equal(300, Pricing.ExitCycles(TestProfiles.Round, new(ExitReason.Hypercall, "mmu_update"), 2, 3));
        // Work done inside another exit pays no transition: 2 × (0 + 70) + 3 × 20 = 140 + 60 = 200
        Assert.Equal(200, Pricing.ExitCycles(TestProfiles.Round, new(ExitReason.WithinExit, "mmu_update"), 2, 3));
    }

    [Fact]
    public void Price_adds_exits_walks_and_the_guest_own_work()
    {
        // exits: shadow_fill 3 × (1000 + 500) + 4 × 200 = 5300; cr3_flush 2 × (1000 + 300) + 100 × 2 = 2800; sum 8100
        // walk:  30 L1 × 10 + 10 L2 × 20 + 5 L3 × 40 + 5 memory × 100 = 300 + 200 + 200 + 500 = 1200,
        //        + 5 psc hits × 2 + 3 nested-TLB hits × 1 = 13: 1213;  mmu = 8100 + 1213 = 9313
        // guest: (1000 accesses + 20 pt writes) × 1 + 2000 insns × 0.5 + 2 faults × 1000 = 4020;  total = 4020 + 9313 = 13333
        var p = Pricing.Price(TestProfiles.Round, [Fill, Cr3], TwoKinds());
        Assert.Equal(new PricedStats(8100, 1213, 9313, 4020, 13333), p);
    }

    [Fact]
    public void A_handler_missing_from_the_profile_is_an_error_naming_it_even_with_no_exits()
    {
        var kinds = new[] { Fill, new ExitKind(ExitReason.ExceptionNmi, "pt_emulate") };
        var e = Assert.Throws<ProfileException>(() => Pricing.Price(TestProfiles.Round, kinds, new EngineStats(2, 0)));
        Assert.Contains("'pt_emulate'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'round'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stats_that_do_not_match_the_kinds_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Pricing.Price(TestProfiles.Round, [Fill], new EngineStats(2, 0)));
    }

    [Fact]
    public void Transition_cycles_follow_the_reason_transition()
    {
        var p = TestProfiles.Round;
        Assert.Equal(1000, p.TransitionCycles(Transition.VmExit));
        Assert.Equal(100, p.TransitionCycles(Transition.PvTrap));
        Assert.Equal(50, p.TransitionCycles(Transition.Hypercall));
    }

    [Fact]
    public void Prescott_prices_the_P4_hidden_fault_and_page_table_write_at_their_measured_cycles()
    {
        // Adams & Agesen measured both on the P4 672: exit 1931 + entry 2409 = 4340, plus the handler the same rows leave.
        var p4 = ProfileCatalog.Resolve("prescott");
        Assert.Equal(11242, Pricing.ExitCycles(p4, Fill, 1, 0));
        Assert.Equal(12733, p4.TransitionCycles(Transition.VmExit) + p4.Handler("pt_emulate").Fixed);
    }
}
