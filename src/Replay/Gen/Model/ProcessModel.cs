using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Gen.Model;

/// <summary>The sizes of a process image, in pages: what each mapping may grow to.</summary>
internal sealed record ImageSpec(int TextPages, int DataPages, int HeapPages, int StackPages);

/// <summary>
/// A process of the guest kernel as a workload drives it: its mappings at the usual x86-64 Linux addresses (text from
/// 0x400000 with its data after it, the heap at 0x10000000, the stack below 0x7ffffff00000), what it has touched,
/// and its most recently touched pages. <see cref="Work"/> runs it for a number of instructions under an
/// <see cref="AccessMix"/>; <see cref="Touch"/> lists one access. Access offsets are random 64-byte lines of the
/// page, so the data-cache model sees the page's lines, not one.
/// </summary>
internal sealed class ProcessModel
{
    public const ulong TextBase = 0x40_0000;
    public const ulong HeapBase = 0x1000_0000;
    public const ulong StackTop = 0x7FFF_FFF0_0000;

    private readonly ulong[] _hotCode;
    private readonly ulong[] _hotData;
    private int _nextCode;
    private int _nextData;
    private double _owed;

    public ProcessModel(Process process, ImageSpec image, int hot = 64)
    {
        Process = process;
        Image = image;
        Text = new Region(TextBase, image.TextPages);
        Data = new Region(TextBase + ((ulong)image.TextPages << Pte.PageShift), image.DataPages);
        Heap = new Region(HeapBase, image.HeapPages);
        Stack = new Region(StackTop - ((ulong)image.StackPages << Pte.PageShift), image.StackPages);
        _hotCode = new ulong[hot];
        _hotData = new ulong[hot];
    }

    public Process Process { get; }

    public ImageSpec Image { get; }

    public Region Text { get; }

    public Region Data { get; }

    public Region Heap { get; }

    public Region Stack { get; }

    /// <summary>
    /// Runs the process on <paramref name="vcpu"/> (it must be current there) for <paramref name="instructions"/>
    /// instructions: listed accesses drawn from <paramref name="mix"/>, each after its share of retired work.
    /// </summary>
    public void Work(GuestKernel k, int vcpu, long instructions, AccessMix mix, Random rng)
    {
        double per = mix.InsnsPerAccess + 1; // the access's own instruction
        _owed += instructions;
        while (_owed >= per)
        {
            _owed -= per;
            long retire = (long)mix.InsnsPerAccess;
            k.Retire(vcpu, retire + (rng.NextDouble() < mix.InsnsPerAccess - retire ? 1 : 0));
            Step(k, vcpu, mix, rng);
        }
    }

    /// <summary>One access drawn from <paramref name="mix"/>.</summary>
    public void Step(GuestKernel k, int vcpu, AccessMix mix, Random rng)
    {
        bool fetch = rng.NextDouble() < mix.Fetch;
        double r = rng.NextDouble();
        ulong page;
        if (fetch)
        {
            double cold = mix.FetchCold ?? mix.Cold, warm = mix.FetchWarm ?? mix.Warm;
            page = r < mix.Grow && Text.CanGrow ? Text.Grow()
                : r < mix.Grow + cold ? Text.AnyTouched(rng)
                : r < mix.Grow + cold + warm ? Text.Warm(rng, mix.FetchWarmPages ?? mix.WarmPages)
                : Hot(_hotCode, _nextCode, mix.Hot, rng) ?? Text.AnyTouched(rng);
            Touch(k, vcpu, TraceOp.Fetch, page, rng);
            return;
        }

        // A new page's first touch is a write: the allocator or the program initialises memory before reading it
        // (malloc's chunk headers, the stack's pushes), so growth faults in a private page, not the zero page.
        bool grows = r < mix.Grow && (Heap.CanGrow || Data.CanGrow || Stack.CanGrow);
        page = r < mix.Grow ? GrowData(rng)
            : r < mix.Grow + mix.Cold ? AnyData(rng)
            : r < mix.Grow + mix.Cold + mix.Warm ? Heap.Warm(rng, mix.WarmPages)
            : Hot(_hotData, _nextData, mix.Hot, rng) ?? AnyData(rng);
        bool write = rng.NextDouble() < mix.Write;
        Touch(k, vcpu, write || grows ? TraceOp.Write : TraceOp.Read, page, rng);
    }

    /// <summary>Lists one user access to <paramref name="page"/> (a random line of it) and remembers the page as hot.</summary>
    public void Touch(GuestKernel k, int vcpu, TraceOp kind, ulong page, Random rng)
    {
        k.Access(vcpu, kind, new Gva(page + ((ulong)rng.Next(64) << 6)));
        if (kind == TraceOp.Fetch)
        {
            _hotCode[_nextCode++ % _hotCode.Length] = page;
        }
        else
        {
            _hotData[_nextData++ % _hotData.Length] = page;
        }
    }

    /// <summary>Touches every page of <paramref name="region"/> up to <paramref name="pages"/> (a resident image at start).</summary>
    public void Populate(GuestKernel k, int vcpu, Region region, int pages, TraceOp kind, Random rng)
    {
        while (region.Touched < Math.Min(pages, region.Capacity))
        {
            Touch(k, vcpu, kind, region.Grow(), rng);
        }
    }

    private ulong GrowData(Random rng) =>
        Heap.CanGrow ? Heap.Grow() : Data.CanGrow ? Data.Grow() : Stack.CanGrow ? Stack.Grow() : AnyData(rng);

    /// <summary>A resident data page, each region weighted by its resident pages.</summary>
    private ulong AnyData(Random rng)
    {
        int total = Data.Touched + Heap.Touched + Stack.Touched;
        if (total == 0)
        {
            return GrowData(rng);
        }

        int pick = rng.Next(total);
        return pick < Data.Touched ? Data.AnyTouched(rng)
            : pick < Data.Touched + Heap.Touched ? Heap.AnyTouched(rng)
            : Stack.AnyTouched(rng);
    }

    /// <summary>One of the <paramref name="hot"/> most recent touches of a ring written up to <paramref name="next"/>; null before any.</summary>
    private static ulong? Hot(ulong[] ring, int next, int hot, Random rng)
    {
        int recent = Math.Min(Math.Min(hot, ring.Length), next);
        if (recent == 0)
        {
            return null;
        }

        return ring[(next - 1 - rng.Next(recent)) % ring.Length];
    }
}
