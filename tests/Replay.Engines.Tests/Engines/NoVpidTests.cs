using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Registry;
using Replay.Engines.Tlb;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// <see cref="ReplayLoop"/> without VPID (TlbGeometry.Vpid false, first-generation VT-x): every event that made a VM
/// exit flushes that vCPU's TLB and paging-structure caches (Intel SDM Vol. 3C §28.3.3.3), so the next access misses
/// the TLB although the engine's own structures still hold its translation. With VPID the TLB survives exits.
/// </summary>
public sealed class NoVpidTests
{
    private const ulong A = 0x40_0000; // PT index 0
    private const ulong B = 0x40_1000; // PT index 1 of the same page table

    private static MachineConfig Config(bool vpid) => MachineConfig.Default() with { Tlb = TlbGeometry.Default with { Vpid = vpid } };

    /// <summary>
    /// cr3; read A; read A; read B; read A; invlpg B; read A. The guest entries carry no A bit, so neither Xen's nor
    /// KVM's prefetch fills B with A's fault (both stop at a present entry that was never accessed).
    /// </summary>
    private static TestTrace Trace()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, A, 0x100);
        t.Map(r, B, 0x101);
        t.Cr3(r);
        t.Read(A);
        t.Read(A);
        t.Read(B);
        t.Read(A);
        t.Invlpg(B);
        t.Read(A);
        return t;
    }

    /// <summary>
    /// With VPID:  cr3 exits (the shadow is emptied, the TLB flushed by the engine itself); read A misses (1) and
    ///   exits to fill the shadow, its translation staying in the TLB; read A hits; read B misses (2) and exits;
    ///   read A hits; invlpg B exits and drops only B; read A hits. 2 misses, 4 exits.
    /// Without:    the same exits, but each flushes the vCPU's whole TLB after its event. read A misses (1) and
    ///   exits; read A misses (2), finds the shadow entry filled a moment ago (no exit); read B misses (3) and exits;
    ///   read A misses (4), no exit; invlpg B exits; read A misses (5), no exit. 5 misses, the same 4 exits:
    ///   3 more misses, one per access that follows an exit and would otherwise have hit.
    /// </summary>
    [Theory]
    [InlineData("shadow-flush")]
    [InlineData("shadow-cached")]
    [InlineData("shadow-cached:personality=kvm")]
    public void Without_VPID_an_access_after_an_exit_misses_the_TLB_again(string engine)
    {
        var spec = EngineRegistry.Parse(engine);
        var vpid = Trace().Run(spec.Create(Config(vpid: true)));
        var none = Trace().Run(spec.Create(Config(vpid: false)));

        Assert.Equal(4, vpid.Stats.Exits);
        Assert.Equal(4, none.Stats.Exits);
        Assert.Equal(2, vpid.Stats.TlbMisses);
        Assert.Equal(5, none.Stats.TlbMisses);
        Assert.Equal(3, none.Stats.TlbMisses - vpid.Stats.TlbMisses);
    }

    [Fact]
    public void Native_makes_no_exits_so_VPID_changes_nothing()
    {
        // native: cr3 flushes; read A misses (1); read A hits; read B misses (2); read A hits; invlpg B drops B;
        // read A hits. 2 misses either way.
        var vpid = Trace().Run(EngineRegistry.Parse("native").Create(Config(vpid: true)));
        var none = Trace().Run(EngineRegistry.Parse("native").Create(Config(vpid: false)));

        Assert.Equal(0, none.Stats.Exits);
        Assert.Equal(2, vpid.Stats.TlbMisses);
        Assert.Equal(2, none.Stats.TlbMisses);
        Assert.Equal((vpid.Stats.WalkRefs, vpid.Stats.PscHits), (none.Stats.WalkRefs, none.Stats.PscHits));
    }
}
