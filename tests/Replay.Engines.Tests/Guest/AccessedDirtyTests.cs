using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.Tests.Guest;

/// <summary>
/// A/D updates (SDM Vol. 3 §4.8): A in every paging-structure entry a successful walk uses, D in the leaf on a
/// write; a faulting walk and a reference walk change nothing.
/// </summary>
public sealed class AccessedDirtyTests
{
    private const ulong P = Pte.Present;
    private const ulong A = Pte.Accessed;
    private const ulong D = Pte.Dirty;

    private static readonly ulong Va = GuestPageTables.Va(1, 2, 3, 4, 0x10);

    private static GuestPageTables Mapped(int leafLevel = 1, ulong leafFlags = GuestPageTables.Prw)
    {
        var pt = new GuestPageTables();
        pt.Map(Va, leafLevel == 1 ? 0x80_0000UL : 0x4000_0000UL, leafLevel, leafFlags);
        return pt;
    }

    [Fact]
    public void A_read_walk_sets_A_in_all_four_entries_and_D_in_none()
    {
        var pt = Mapped();

        var w = PageWalker.Walk(pt.Memory, pt.Root, Va, AccessKind.Read, true, 4, setAccessedDirty: true);

        Assert.False(w.Fault);
        Assert.False(w.Dirty);
        for (int level = 4; level >= 1; level--)
        {
            Assert.Equal(A, pt.Entry(Va, level) & (A | D));
        }
    }

    [Fact]
    public void A_write_walk_sets_D_in_the_leaf_only()
    {
        var pt = Mapped();

        var w = PageWalker.Walk(pt.Memory, pt.Root, Va, AccessKind.Write, true, 4, setAccessedDirty: true);

        Assert.False(w.Fault);
        Assert.True(w.Dirty);
        Assert.Equal(A | D, pt.Entry(Va, 1) & (A | D));
        Assert.Equal(A, pt.Entry(Va, 2) & (A | D));
        Assert.Equal(A, pt.Entry(Va, 3) & (A | D));
        Assert.Equal(A, pt.Entry(Va, 4) & (A | D));
    }

    [Fact]
    public void A_write_through_a_2MiB_page_sets_D_in_the_PDE()
    {
        var pt = Mapped(leafLevel: 2);

        PageWalker.Walk(pt.Memory, pt.Root, Va, AccessKind.Write, false, 4, setAccessedDirty: true);

        Assert.Equal(A | D, pt.Entry(Va, 2) & (A | D));
        Assert.Equal(A, pt.Entry(Va, 3) & (A | D));
        Assert.Equal(A, pt.Entry(Va, 4) & (A | D));
    }

    [Fact]
    public void A_walk_faulting_on_permissions_sets_no_bit_anywhere()
    {
        var pt = Mapped(leafFlags: P | Pte.Us); // read-only leaf
        var before = pt.PathWords(Va);

        var w = PageWalker.Walk(pt.Memory, pt.Root, Va, AccessKind.Write, true, 4, setAccessedDirty: true);

        Assert.True(w.Fault);
        Assert.Equal(before, pt.PathWords(Va));
    }

    [Fact]
    public void A_walk_faulting_on_a_not_present_PTE_sets_no_bit_anywhere()
    {
        var pt = Mapped();
        pt.Clear(Va, 1, P);
        var before = pt.PathWords(Va);

        var w = PageWalker.Walk(pt.Memory, pt.Root, Va, AccessKind.Read, true, 4, setAccessedDirty: true);

        Assert.True(w.Fault);
        Assert.Equal(4, w.Refs);
        Assert.Equal(before, pt.PathWords(Va));
    }

    [Fact]
    public void Without_setAccessedDirty_a_write_walk_changes_nothing_and_reports_the_leafs_own_D()
    {
        var pt = Mapped();
        var before = pt.PathWords(Va);

        var w = PageWalker.Walk(pt.Memory, pt.Root, Va, AccessKind.Write, true, 4, setAccessedDirty: false);

        Assert.False(w.Fault);
        Assert.False(w.Dirty);
        Assert.Equal(before, pt.PathWords(Va));
    }

    [Fact]
    public void A_read_walk_of_a_leaf_already_dirty_reports_Dirty()
    {
        var pt = Mapped(leafFlags: GuestPageTables.Prw | D);

        var w = PageWalker.Walk(pt.Memory, pt.Root, Va, AccessKind.Read, true, 4, setAccessedDirty: true);

        Assert.True(w.Dirty);
    }

    [Theory]
    [InlineData(AccessKind.Read, true)]
    [InlineData(AccessKind.Write, true)]
    [InlineData(AccessKind.Fetch, false)]
    public void The_reference_translation_equals_the_walks_and_changes_nothing(AccessKind kind, bool user)
    {
        var pt = Mapped(leafLevel: 2, leafFlags: GuestPageTables.Prw | Pte.Nx);
        var before = pt.PathWords(Va, leafLevel: 2);

        var reference = PageWalker.Reference(pt.Memory, pt.Root, Va, kind, user, 4);

        Assert.Equal(before, pt.PathWords(Va, leafLevel: 2));
        var w = PageWalker.Walk(pt.Memory, pt.Root, Va, kind, user, 4, setAccessedDirty: true);
        if (kind == AccessKind.Fetch)
        {
            // XD in the PDE: the fetch faults.
            Assert.True(w.Fault);
            Assert.Equal(Translation.GuestFault, reference);
        }
        else
        {
            // Va sits at PT index 4 of the 2 MiB page: frame 0x4000_0000 + 4 * 0x1000.
            Assert.Equal(new Translation(w.FrameOf(Va), w.Perms, false), reference);
            Assert.Equal(new Translation(0x4000_4000, Perms.Write | Perms.User, false), reference);
        }
    }
}
