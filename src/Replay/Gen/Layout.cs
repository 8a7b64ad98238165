using Replay.Engines.Trace;
using Replay.Gen.Kernel;

namespace Replay.Gen;

/// <summary>
/// A process image for synthetic workloads: code, heap and stack page counts at the usual x86-64 Linux
/// addresses, and a random access mix over them (a quarter fetches, stack writes, heap reads and writes).
/// </summary>
internal sealed record Layout(int CodePages, int HeapPages, int StackPages)
{
    public const ulong Code = 0x40_0000;
    public const ulong Heap = 0x1000_0000;
    public const ulong Stack = 0x7FFF_FFF0_0000;
    public const ulong Mmap = 0x7F00_0000_0000;

    public static ulong Page(ulong baseVa, int page) => baseVa + ((ulong)page << 12);

    /// <summary>One user access of the mix by the process current on <paramref name="vcpu"/>.</summary>
    public void Step(GuestKernel k, int vcpu, Random rng)
    {
        int r = rng.Next(100);
        ulong offset = (ulong)rng.Next(512) * 8;
        switch (r)
        {
            case < 25:
                k.Access(vcpu, TraceOp.Fetch, Page(Code, rng.Next(CodePages)) + offset);
                break;
            case < 35:
                k.Access(vcpu, TraceOp.Write, Page(Stack, rng.Next(StackPages)) + offset);
                break;
            case < 75:
                k.Access(vcpu, TraceOp.Read, Page(Heap, rng.Next(HeapPages)) + offset);
                break;
            default:
                k.Access(vcpu, TraceOp.Write, Page(Heap, rng.Next(HeapPages)) + offset);
                break;
        }
    }

    /// <summary>Kernel work on <paramref name="vcpu"/> (syscall entry, scheduler, network stack): direct-map accesses.</summary>
    public static void Kernel(GuestKernel k, int vcpu, Random rng, int accesses)
    {
        ulong span = Math.Min(k.DirectMapBytes, 8UL << 20) >> 3;
        for (int i = 0; i < accesses; i++)
        {
            k.Access(vcpu, (i & 3) == 3 ? TraceOp.Write : TraceOp.Read, GuestKernel.KernelBase + ((ulong)rng.NextInt64((long)span) << 3), user: false);
        }
    }
}
