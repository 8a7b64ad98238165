namespace Replay.Engines.Guest;

/// <summary>x86-64 paging-structure entry bits (Intel SDM Vol. 3 §4.5).</summary>
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

    /// <summary>CR3 bit 63 with PCID on: keep this PCID's TLB entries.</summary>
    public const ulong Cr3NoFlush = 1UL << 63;

    public const ulong PcidMask = 0xFFF;

    /// <summary>Shift of the va bits a level-<paramref name="level"/> entry maps (level 1 = PT … 5 = PML5).</summary>
    public static int Shift(int level) => 12 + (9 * (level - 1));

    /// <summary>Index into the level-<paramref name="level"/> table for <paramref name="va"/>.</summary>
    public static int Index(ulong va, int level) => (int)((va >> Shift(level)) & 511);
}
