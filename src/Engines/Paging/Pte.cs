namespace Replay.Engines.Paging;

/// <summary>x86-64 paging-structure entry bits and paging geometry (Intel SDM Vol. 3 §4.5).</summary>
public static class Pte
{
    public const ulong Present = 1UL << 0;
    public const ulong Rw = 1UL << 1;
    public const ulong Us = 1UL << 2;
    public const ulong Accessed = 1UL << 5;
    public const ulong Dirty = 1UL << 6;
    public const ulong Ps = 1UL << 7;
    public const ulong Global = 1UL << 8;
    public const ulong Nx = 1UL << 63;

    /// <summary>Bits 51:12: the physical address of the next table or 4 KiB page.</summary>
    public const ulong AddrMask = 0x000F_FFFF_FFFF_F000UL;

    /// <summary>Bits 56:0: the widest (5-level, 57-bit) linear address; the sign-extension bits above it dropped.</summary>
    public const ulong VaMask = 0x01FF_FFFF_FFFF_FFFFUL;

    /// <summary>CR3 bit 63 with PCID on: keep this PCID's TLB entries.</summary>
    public const ulong Cr3NoFlush = 1UL << 63;

    public const ulong PcidMask = 0xFFF;

    /// <summary>Shift of a 4 KiB page: an address shifted right by it is its frame (page) number.</summary>
    public const int PageShift = 12;

    /// <summary>Shift of a 2 MiB page (a level-2 leaf).</summary>
    public const int LargePageShift = 21;

    /// <summary>Shift of a 1 GiB page (a level-3 leaf).</summary>
    public const int HugePageShift = 30;

    public const ulong PageSize = 1UL << PageShift;
    public const ulong LargePageSize = 1UL << LargePageShift;

    /// <summary>The byte offset within a 4 KiB page (0xFFF).</summary>
    public const ulong PageOffsetMask = PageSize - 1;

    /// <summary>The 4 KiB pages of a 2 MiB page (512).</summary>
    public const int PagesPerLargePage = 1 << (LargePageShift - PageShift);

    /// <summary>Va bits each paging level translates.</summary>
    public const int BitsPerLevel = 9;

    /// <summary>Entries of a paging-structure table (one 4 KiB page of 8-byte entries).</summary>
    public const int EntriesPerTable = 1 << BitsPerLevel;

    /// <summary>An index into a table (511).</summary>
    public const int IndexMask = EntriesPerTable - 1;

    /// <summary>Shift of an 8-byte entry: index &lt;&lt; EntryShift is its byte offset in the table.</summary>
    public const int EntryShift = 3;

    /// <summary>Shift of the va bits a level-<paramref name="level"/> entry maps (level 1 = PT … 5 = PML5).</summary>
    public static int Shift(int level) => PageShift + (BitsPerLevel * (level - 1));

    /// <summary>Index into the level-<paramref name="level"/> table for <paramref name="va"/>.</summary>
    public static int Index(ulong va, int level) => (int)((va >> Shift(level)) & IndexMask);
}
