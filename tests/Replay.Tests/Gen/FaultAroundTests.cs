using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

/// <summary>
/// Linux's fault-around (<c>do_fault_around</c>, 64 KiB = <see cref="GuestKernel.FaultAroundPages"/> pages): a text
/// fault maps the faulting page and every other page of its aligned 16-page window that the page cache already holds
/// and the process has not mapped, with one <c>ptwrite</c> each, and nothing outside the window.
/// </summary>
public sealed class FaultAroundTests
{
    private const int Program = 7;
    private const ulong Text = 0x40_0000; // page 0x400: a window starts here (0x400 is a multiple of 16), PT index 0

    private readonly KernelHarness _h = new();

    private static ulong Page(int i) => Text + ((ulong)i << 12);

    /// <summary>A process of <see cref="Program"/> that fetches <paramref name="pages"/>, so the page cache holds them.</summary>
    private Process Warm(params int[] pages)
    {
        var k = _h.Kernel;
        var a = k.CreateProcess(program: Program);
        k.Run(0, a);
        foreach (int i in pages)
        {
            k.Access(0, TraceOp.Fetch, new Gva(Page(i)));
        }

        return a;
    }

    [Fact]
    public void A_text_fault_maps_the_other_cached_pages_of_its_window_and_no_more()
    {
        var k = _h.Kernel;
        var a = Warm([.. Enumerable.Range(0, 32)]); // windows 0–15 and 16–31 both cached
        var b = k.CreateProcess(program: Program);
        k.Run(0, b);

        // b has nothing mapped: the fetch of page 5 fails; the handler links a new PDPT, PD and PT (PML4[0], PDPT[0],
        // PD[2]: 3 ptwrites), writes PT[5] with the cached frame, then PT[0..4] and PT[6..15] (15 ptwrites: the other
        // pages of window 0–15, in order), and the fetch is retried. Window 16–31 is cached too but not touched.
        var ev = _h.Take(() => k.Access(0, TraceOp.Fetch, new Gva(Page(5))));
        Assert.Equal("fetch " + string.Join(" ", Enumerable.Repeat("ptwrite", 3 + 1 + 15)) + " fetch", KernelHarness.Ops(ev));
        ulong pt = ev[3].Value & Pte.AddrMask;
        int[] order = [5, .. Enumerable.Range(0, 16).Where(i => i != 5)];
        var expected = new List<Ev> { new(TraceOp.Fetch, 0, Page(5), 0, 0, true) };
        expected.AddRange(ev.Skip(1).Take(3)); // the table links, checked by the demand-paging tests
        expected.AddRange(order.Select(i => new Ev(TraceOp.PtWrite, 0, 0, pt + ((ulong)i << 3), (k.FrameOf(a, new Gva(Page(i)))!.Value.Value << 12) | GuestKernel.CodeFlags, false)));
        expected.Add(expected[0]);
        Assert.Equal(expected, ev);

        // Every page of the window now maps a's frame: the page cache's; none of the next window is mapped.
        Assert.All(Enumerable.Range(0, 16), i => Assert.Equal(k.FrameOf(a, new Gva(Page(i))), k.FrameOf(b, new Gva(Page(i)))));
        Assert.All(Enumerable.Range(16, 16), i => Assert.Null(k.FrameOf(b, new Gva(Page(i)))));

        // A page fault-around mapped is used without a fault; the next window faults once for all of its 16 pages.
        Assert.Equal("fetch", KernelHarness.Ops(_h.Take(() => k.Access(0, TraceOp.Fetch, new Gva(Page(15))))));
        Assert.Equal(1 + 16 + 1, _h.Take(() => k.Access(0, TraceOp.Fetch, new Gva(Page(16)))).Count); // its PT exists already
    }

    [Fact]
    public void A_text_fault_with_no_other_page_of_its_window_cached_maps_just_one()
    {
        var k = _h.Kernel;
        Warm(40);                  // window 32–47: only page 40 cached
        var b = k.CreateProcess(program: Program);
        k.Run(0, b);

        // 3 table links, the leaf of page 40, the retry: the window has no other cached page.
        Assert.Equal("fetch ptwrite ptwrite ptwrite ptwrite fetch", KernelHarness.Ops(_h.Take(() => k.Access(0, TraceOp.Fetch, new Gva(Page(40))))));
        Assert.Equal("fetch ptwrite fetch", KernelHarness.Ops(_h.Take(() => k.Access(0, TraceOp.Fetch, new Gva(Page(41)))))); // a new page of the cache
    }

    [Fact]
    public void Fault_around_skips_pages_the_process_has_mapped_and_other_programs_pages()
    {
        var k = _h.Kernel;
        var a = Warm(0, 1, 2, 3);
        var other = k.CreateProcess(program: Program + 1);
        k.Run(0, other);
        k.Access(0, TraceOp.Fetch, new Gva(Page(4))); // program 8's page 4: not program 7's

        // a faults page 9: pages 0–3 are mapped already and page 4 of the cache is another program's: just page 9.
        k.Run(0, a);
        Assert.Equal("fetch ptwrite fetch", KernelHarness.Ops(_h.Take(() => k.Access(0, TraceOp.Fetch, new Gva(Page(9))))));
        Assert.Null(k.FrameOf(a, new Gva(Page(4))));
    }
}
