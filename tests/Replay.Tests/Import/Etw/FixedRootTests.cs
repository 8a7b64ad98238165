using Replay.Kernel;
using Xunit;

namespace Replay.Tests.Import.Etw;

/// <summary>Real root frames (KernelOptions.FixedRoots): kept out of allocation, used only as the roots asked for.</summary>
public sealed class FixedRootTests
{
    [Fact]
    public void A_reserved_frame_is_never_handed_out_nor_recycled()
    {
        // Frames 0x10-0x1f, 0x12 reserved: 15 frames to hand out, none of them 0x12.
        var a = new FrameAllocator(0x10, 0x20);
        a.Reserve(0x12);
        var got = new List<ulong>();
        while (a.TryAlloc(out ulong f))
        {
            got.Add(f);
        }

        Assert.Equal(15, got.Count);
        Assert.DoesNotContain(0x12UL, got);

        // Taken as a root and freed, it goes back to its reservation, not to the free roots.
        a.TakeReserved(0x12);
        Assert.Equal(16, a.InUse);
        a.FreeRoot(0x12, user: false);
        Assert.Equal(15, a.InUse);
        Assert.False(a.TryAllocRoot(user: false, out _));
    }

    [Fact]
    public void A_fixed_root_serves_one_live_process_at_a_time()
    {
        var kernel = new GuestKernel(new KernelOptions { FixedRoots = [0x187, 0x900] }, _ => { });
        var p = kernel.CreateProcess(root: 0x900);
        Assert.Equal(0x900UL, p.Root);
        Assert.Throws<ArgumentException>(() => kernel.CreateProcess(root: 0x900));
        Assert.Throws<ArgumentException>(() => kernel.CreateProcess(root: 0x901)); // not a fixed root
        Assert.Equal(0x187UL, kernel.CreateProcess(root: 0x187).Root); // below the allocator's range

        kernel.Exit(p);
        Assert.Equal(0x900UL, kernel.CreateProcess(root: 0x900).Root);
        Assert.DoesNotContain(kernel.Live, q => q.Root == 0x900 && q != kernel.Live[^1]);
    }

    [Fact]
    public void A_root_beyond_guest_memory_is_an_option_error()
    {
        var e = Assert.Throws<ArgumentException>(() => new KernelOptions { MemoryBytes = 64UL << 20, FixedRoots = [0x4000] }.Validate());
        Assert.Equal("--memory 67108864 bytes does not hold root frame 0x4000: it needs at least 67112960 bytes.", e.Message);
    }
}
