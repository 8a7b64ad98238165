using Replay.Engines.Paging;

namespace Replay.Gen.Model;

/// <summary>
/// One mapping of a process model (a VMA): a base address, how many pages it may grow to, and which of them have
/// been touched. Touched pages are kept in touch order, so a draw among them is a uniform choice of the resident
/// set, and growth touches the next page after the highest one so far (a heap or stack growing, text faulting in).
/// </summary>
internal sealed class Region(ulong baseVa, int capacityPages)
{
    private readonly List<int> _touched = [];

    public ulong Base { get; } = baseVa;

    public int Capacity { get; } = capacityPages;

    /// <summary>Pages touched so far (resident, unless the kernel reclaimed them).</summary>
    public int Touched => _touched.Count;

    /// <summary>True while some page has never been touched.</summary>
    public bool CanGrow => _touched.Count < Capacity;

    /// <summary>The va of page <paramref name="page"/>.</summary>
    public ulong Page(int page) => Base + ((ulong)page << Pte.PageShift);

    /// <summary>The next never-touched page (growth); the caller touches it.</summary>
    public ulong Grow()
    {
        int page = _touched.Count;
        _touched.Add(page);
        return Page(page);
    }

    /// <summary>A uniformly chosen touched page; a region never touched grows instead.</summary>
    public ulong AnyTouched(Random rng) => _touched.Count == 0 ? Grow() : Page(_touched[rng.Next(_touched.Count)]);

    /// <summary>A page drawn uniformly from the first <paramref name="pages"/> touched (a fixed warm set); a region never touched grows instead.</summary>
    public ulong Warm(Random rng, int pages) => _touched.Count == 0 ? Grow() : Page(_touched[rng.Next(Math.Min(pages, _touched.Count))]);
}
