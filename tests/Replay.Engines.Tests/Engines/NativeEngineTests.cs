using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Native;
using Replay.Engines.Registry;

namespace Replay.Engines.Tests.Engines;

/// <summary>The baseline's declarations (its TLB and walk behaviour: <c>Guest/HardwareMmuTests</c>).</summary>
public sealed class NativeEngineTests
{
    [Fact]
    public void It_declares_no_options_no_exit_kinds_and_the_one_permission_rewalk_counter()
    {
        var d = NativeEngine.Descriptor;
        Assert.Equal(EngineRegistry.NativeName, d.Name);
        Assert.Empty(d.Options);
        Assert.Empty(d.ExitKinds);
        var e = EngineRegistry.Parse("native").Create(MachineConfig.Default());
        Assert.Empty(e.ExitKinds);
        Assert.Equal(["tlb_permission_rewalks"], e.CounterNames);
        Assert.Equal((0, 1), (e.Stats.ExitCounts.Length, e.Stats.Counters.Length));
        var ex = Assert.Throws<EngineSpecException>(() => EngineRegistry.Parse("native:prefetch=1"));
        Assert.Equal("Engine 'native' takes no options, but 'prefetch' was given.", ex.Message);
    }

    [Fact]
    public void A_write_through_a_TLB_entry_filled_by_a_read_of_a_clean_page_counts_one_permission_rewalk_and_no_exit()
    {
        var t = new TestTrace();
        ulong r = t.NewRoot();
        t.Map(r, 0x40_0000, 0x100);
        t.Cr3(r);
        t.Read(0x40_0000);
        t.Write(0x40_0000);  // the TLB entry has D clear: dropped, re-walked (sets D), refilled
        t.Write(0x40_0008);  // hits the dirty entry
        var e = t.Run(new NativeEngine(MachineConfig.Default()));

        Assert.Equal(1, e.Counter("tlb_permission_rewalks"));
        Assert.Equal(2, e.Stats.TlbMisses);
        Assert.Equal(0, e.Stats.Exits);
    }
}
