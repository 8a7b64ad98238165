namespace Replay.Engines.Paging;

/// <summary>
/// The three kinds of memory access. A paging primitive (the walker checks permissions by it, the TLB picks its
/// data or instruction side by it), so it sits at the bottom with <see cref="Pte"/> and <see cref="Translation"/>.
/// </summary>
public enum AccessKind : byte
{
    Read = 0,
    Write = 1,
    Fetch = 2,
}
