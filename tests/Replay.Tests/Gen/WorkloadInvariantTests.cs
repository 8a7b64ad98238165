using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Gen;
using Replay.Kernel;

namespace Replay.Tests.Gen;

/// <summary>Invariants of the kernel model checked on every workload's events.</summary>
public sealed class WorkloadInvariantTests
{
    public static TheoryData<string, bool, bool, int> Cases()
    {
        var data = new TheoryData<string, bool, bool, int>();
        foreach (var w in Workloads.All)
        {
            data.Add(w.Name, false, false, 1);
            data.Add(w.Name, true, false, 2);
            data.Add(w.Name, true, true, 3);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Exiting_every_live_process_returns_every_frame_to_the_allocator(string workload, bool thp, bool kpti, int vcpus)
    {
        var h = new KernelHarness(new KernelOptions { Thp = thp, Kpti = kpti, Pcid = kpti, Vcpus = vcpus });
        long boot = h.Kernel.Frames.InUse;
        Workloads.Find(workload)!.Generate(h.Kernel, new WorkloadRandom(4), 20_000);
        Assert.NotEmpty(h.Kernel.Live);
        Assert.True(h.Kernel.Frames.InUse > boot);
        foreach (var p in h.Kernel.Live.ToArray())
        {
            h.Kernel.Exit(p);
        }

        // Program text stays in the page cache after its last process, as in Linux, and the zero pages stay the
        // kernel's; everything else is returned.
        Assert.Equal(boot + h.Kernel.PageCacheFrames + h.Kernel.ZeroPageFrames, h.Kernel.Frames.InUse);
        Assert.All(Enumerable.Range(0, vcpus), v => Assert.Equal(h.Kernel.Idle, h.Kernel.CurrentOn(v)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_access_runs_on_the_root_and_pcid_it_should(string workload, bool thp, bool kpti, int vcpus)
    {
        var h = new KernelHarness(new KernelOptions { Thp = thp, Kpti = kpti, Pcid = kpti, Vcpus = vcpus });
        var userRoots = new HashSet<ulong>();
        var kernelRoots = new HashSet<ulong> { h.Kernel.Idle.Root };
        Workloads.Find(workload)!.Generate(h.Kernel, new WorkloadRandom(4), 20_000);
        h.Kernel.Complete();
        var cr3 = new ulong[vcpus];
        foreach (var e in h.Events)
        {
            switch (e.Op)
            {
                case TraceOp.Cr3:
                    cr3[e.Vcpu] = e.Value;
                    ulong pcid = e.Value & Pte.PcidMask;
                    if (kpti)
                    {
                        // Linux: kernel PCID = ASID + 1 (six ASIDs), user PCID = kernel PCID + 2048.
                        Assert.InRange(pcid & 2047, 1UL, 6UL);
                        (pcid >= 2048 ? userRoots : kernelRoots).Add((e.Value & Pte.AddrMask) >> 12);
                    }
                    else
                    {
                        Assert.Equal(0UL, pcid);
                        Assert.Equal(0UL, e.Value & Pte.Cr3NoFlush);
                    }

                    break;
                case TraceOp.Read or TraceOp.Write or TraceOp.Fetch when kpti:
                    bool userMode = (cr3[e.Vcpu] & Pte.PcidMask) >= 2048;
                    Assert.Equal(e.User, userMode); // user code only on the user root, kernel code only on the kernel root
                    if (e.Va >= GuestKernel.KernelBase)
                    {
                        Assert.False(userMode);
                    }

                    break;
            }
        }

        if (kpti)
        {
            Assert.Empty(userRoots.Intersect(kernelRoots)); // two distinct roots per process
            Assert.NotEmpty(userRoots);
        }
    }
}
