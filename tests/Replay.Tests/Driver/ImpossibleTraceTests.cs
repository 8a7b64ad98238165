using Replay.Driver;
using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Tests.Driver;

/// <summary>
/// Traces no machine could have produced are warnings naming the row (errors with <c>--strict</c>), issue 15 item 8:
/// before, each replayed with 0 warnings.
/// </summary>
public sealed class ImpossibleTraceTests
{
    private const ulong Root = 0x10, Pdpt = 0x11;
    private const ulong Table = Pte.Present | Pte.Rw | Pte.Us;
    private const ulong FourGiB = 4UL << 30;

    private static TraceChecker Checked(EventBatch b, ulong memory = FourGiB, bool strict = false)
    {
        var checker = new TraceChecker("t.pq", new TraceInfo { Vcpus = 1, MemoryBytes = memory }, strict);
        checker.Check(b, 0, b.Count);
        return checker;
    }

    private static EventBatch WellFormed()
    {
        var b = new EventBatch(8);
        b.Add(TraceOp.PtInit, pa: Root << 12, value: (Pdpt << 12) | Table);
        b.Add(TraceOp.Cr3, value: Root << 12);
        return b;
    }

    [Fact]
    public void A_well_formed_start_has_no_warning()
    {
        Assert.Equal(0, Checked(WellFormed()).Warnings);
    }

    [Fact]
    public void A_ptwrite_beyond_guest_memory_is_a_warning_naming_its_row()
    {
        var b = WellFormed();
        b.Add(TraceOp.PtWrite, pa: 1UL << 50, value: 0);

        var checker = Checked(b);

        Assert.Equal(1, checker.Warnings);
        Assert.Equal((2L, "ptwrite at gpa 0x4000000000000, beyond the guest's 4294967296 bytes of memory (replay.guest.memory_bytes)"), checker.FirstWarnings[0]);
    }

    [Fact]
    public void A_cr3_load_of_a_frame_nothing_wrote_is_a_warning_once_per_frame()
    {
        var b = new EventBatch(8);
        b.Add(TraceOp.Cr3, value: 0x20UL << 12);
        b.Add(TraceOp.Cr3, value: 0x20UL << 12);
        b.Add(TraceOp.Cr3, value: 0x21UL << 12);

        var checker = Checked(b);

        Assert.Equal(2, checker.Warnings);
        Assert.Equal((0L, "cr3 loads frame 0x20, which no ptwrite or ptinit has written: an empty root, through which every access faults"), checker.FirstWarnings[0]);
        Assert.Equal(2L, checker.FirstWarnings[1].Row);
    }

    [Fact]
    public void A_cr3_load_beyond_guest_memory_is_a_warning()
    {
        var b = new EventBatch(8);
        b.Add(TraceOp.Cr3, value: 0x200000UL << 12); // 8 GiB in a 4 GiB guest

        Assert.Equal("cr3 loads frame 0x200000 at gpa 0x200000000, beyond the guest's 4294967296 bytes of memory (replay.guest.memory_bytes)", Checked(b).FirstWarnings[0].Message);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData((1UL << 20) + 1)]
    public void Guest_memory_of_less_than_a_mebibyte_or_not_whole_pages_is_a_warning_at_the_first_row(ulong memory)
    {
        var checker = Checked(WellFormed(), memory);

        Assert.Equal((0L, $"metadata replay.guest.memory_bytes = {memory}: a guest's memory is at least 1048576 bytes and a whole number of 4 KiB pages"), checker.FirstWarnings[0]);
    }

    [Fact]
    public void With_strict_the_first_is_an_error_naming_file_and_row()
    {
        var b = WellFormed();
        b.Add(TraceOp.PtWrite, pa: 1UL << 50, value: 0);

        var e = Assert.Throws<TraceWarningException>(() => Checked(b, strict: true));

        Assert.Equal("t.pq: row 2: ptwrite at gpa 0x4000000000000, beyond the guest's 4294967296 bytes of memory (replay.guest.memory_bytes) (--strict).", e.Message);
    }
}
