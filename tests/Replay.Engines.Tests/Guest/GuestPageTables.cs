using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.Tests.Guest;

/// <summary>
/// Builds x86-64 page tables by writing words straight into <see cref="GuestMemory"/>. Table frames are
/// allocated from 1 MiB upward (0x10_0000, 0x10_1000, ...), so data frames chosen by the tests (8 MiB and up
/// for 4 KiB pages, 2 MiB-aligned at 0x4000_0000, 1 GiB-aligned at 0x8000_0000) never overlap a table.
/// </summary>
internal sealed class GuestPageTables
{
    /// <summary>P | RW | US: the most permissive entry.</summary>
    public const ulong Prw = Pte.Present | Pte.Rw | Pte.Us;

    private ulong _nextTable = 0x10_0000;

    public GuestPageTables(int levels = 4, GuestMemory? memory = null)
    {
        Levels = levels;
        Memory = memory ?? new GuestMemory();
        Root = AllocTable();
    }

    public GuestMemory Memory { get; }

    public int Levels { get; }

    /// <summary>The root table's gpa: the CR3 value (PCID 0, bit 63 clear).</summary>
    public ulong Root { get; }

    /// <summary>
    /// A va from its table indices (4-level layout: PML4, PDPT, PD, PT) plus a byte offset, sign-extended from
    /// bit 47 so that PML4 indices 256..511 give canonical kernel addresses.
    /// </summary>
    public static ulong Va(ulong pml4, ulong pdpt, ulong pd, ulong pt, ulong offset = 0)
    {
        ulong va = (pml4 << 39) | (pdpt << 30) | (pd << 21) | (pt << 12) | offset;
        return (va & (1UL << 47)) != 0 ? va | 0xFFFF_0000_0000_0000UL : va;
    }

    /// <summary>A 5-level va: PML5 index in bits 56:48 (no sign extension needed for the small indices used).</summary>
    public static ulong Va5(ulong pml5, ulong pml4, ulong pdpt, ulong pd, ulong pt, ulong offset = 0) =>
        (pml5 << 48) | (pml4 << 39) | (pdpt << 30) | (pd << 21) | (pt << 12) | offset;

    /// <summary>
    /// Maps <paramref name="va"/> to <paramref name="pa"/> with a leaf at <paramref name="leafLevel"/>
    /// (1 = 4 KiB PTE, 2 = 2 MiB PDE with PS, 3 = 1 GiB PDPTE with PS). Missing upper tables are created with
    /// <paramref name="upperFlags"/>; existing upper entries are left as they are.
    /// </summary>
    public void Map(ulong va, ulong pa, int leafLevel = 1, ulong leafFlags = Prw, ulong upperFlags = Prw)
    {
        ulong table = Root;
        for (int level = Levels; level > leafLevel; level--)
        {
            ulong addr = table + ((ulong)Pte.Index(va, level) << 3);
            ulong e = Memory.ReadWord(addr);
            if ((e & Pte.Present) == 0)
            {
                e = AllocTable() | upperFlags;
                Memory.WriteWord(addr, e);
            }

            table = e & Pte.AddrMask;
        }

        ulong leaf = pa | leafFlags | (leafLevel > 1 ? Pte.Ps : 0);
        Memory.WriteWord(table + ((ulong)Pte.Index(va, leafLevel) << 3), leaf);
    }

    /// <summary>The gpa of the level-<paramref name="level"/> entry used for <paramref name="va"/> (its tables must exist).</summary>
    public ulong EntryAddr(ulong va, int level)
    {
        ulong table = Root;
        for (int l = Levels; l > level; l--)
        {
            table = Memory.ReadWord(table + ((ulong)Pte.Index(va, l) << 3)) & Pte.AddrMask;
        }

        return table + ((ulong)Pte.Index(va, level) << 3);
    }

    public ulong Entry(ulong va, int level) => Memory.ReadWord(EntryAddr(va, level));

    public void SetEntry(ulong va, int level, ulong value) => Memory.WriteWord(EntryAddr(va, level), value);

    /// <summary>Clears <paramref name="bits"/> in the level-<paramref name="level"/> entry for <paramref name="va"/>.</summary>
    public void Clear(ulong va, int level, ulong bits) => SetEntry(va, level, Entry(va, level) & ~bits);

    /// <summary>Sets <paramref name="bits"/> in the level-<paramref name="level"/> entry for <paramref name="va"/>.</summary>
    public void Set(ulong va, int level, ulong bits) => SetEntry(va, level, Entry(va, level) | bits);

    /// <summary>Every word of every entry on <paramref name="va"/>'s path, root first (for "nothing changed" checks).</summary>
    public ulong[] PathWords(ulong va, int leafLevel = 1)
    {
        var words = new List<ulong>();
        for (int level = Levels; level >= leafLevel; level--)
        {
            words.Add(Entry(va, level));
        }

        return [.. words];
    }

    private ulong AllocTable()
    {
        ulong t = _nextTable;
        _nextTable += 0x1000;
        return t;
    }
}
