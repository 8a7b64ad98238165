using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.Parts.Shadow;

/// <summary>How a prefetching fill writes one shadow leaf from the guest entry it read (each engine derives its own).</summary>
internal interface IPrefetchLeaf
{
    void Fill(ShadowPage page, int index, ulong guestEntry);
}

/// <summary>
/// KVM <c>FNAME(pte_prefetch)</c> over a shadowed guest leaf table, shared by <c>shadow-cached</c>'s KVM personality
/// and <c>agile</c>: the aligned block of <c>window</c> entries around the faulting one (<c>PTE_PREFETCH_NUM</c>, 8);
/// present sptes are skipped, and the first guest entry that is not present or not accessed ends it
/// (<c>prefetch_invalid_gpte</c> fails <c>FNAME(prefetch_gpte)</c>).
/// </summary>
internal static class KvmPrefetch
{
    /// <summary>Prefetches around entry <paramref name="index"/> of <paramref name="page"/>; returns the entries filled.</summary>
    public static int Block<TLeaf>(ShadowPage page, int index, int window, GuestMemory memory, ref TLeaf leaf)
        where TLeaf : struct, IPrefetchLeaf
    {
        int first = index - (index % window);
        int last = Math.Min(Pte.IndexMask, first + window - 1);
        ulong table = page.Gfn << Pte.PageShift;
        int filled = 0;
        for (int j = first; j <= last; j++)
        {
            if (j == index || (page.E[j] & SEntry.Present) != 0)
            {
                continue;
            }

            ulong g = memory.ReadWord(table + ((ulong)j << Pte.EntryShift));
            if ((g & (Pte.Present | Pte.Accessed)) != (Pte.Present | Pte.Accessed))
            {
                break;
            }

            leaf.Fill(page, j, g);
            filled++;
        }

        return filled;
    }
}
