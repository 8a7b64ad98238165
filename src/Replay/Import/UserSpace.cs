namespace Replay.Import;

/// <summary>The canonical user half of a 4-level (48-bit) x86-64 address space: [0, 2^47).</summary>
public static class UserSpace
{
    /// <summary>First address above user space.</summary>
    public const ulong Top = 1UL << 47;

    /// <summary>True when all <paramref name="size"/> bytes from <paramref name="va"/> are user addresses.</summary>
    public static bool Contains(ulong va, int size) => va < Top && (ulong)Math.Max(size, 1) - 1 < Top - va;
}
