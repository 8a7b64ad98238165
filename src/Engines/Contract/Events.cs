using Replay.Engines.Paging;

namespace Replay.Engines.Contract;

/// <summary>A data load, data store or instruction fetch at guest-virtual address <see cref="Va"/>.</summary>
public readonly record struct MemoryAccess(long Index, int Vcpu, ulong Va, AccessKind Kind, bool User);

/// <summary>A MOV to CR3 (SPEC §1 op 3): <see cref="Value"/> holds the root gpa, PCID and bit 63.</summary>
public readonly record struct Cr3Load(long Index, int Vcpu, ulong Value);

/// <summary>
/// A store of <see cref="Width"/> bytes of page-table data at gpa <see cref="Pa"/> (op 4), or an initial
/// page-table word (op 7, <see cref="IsInit"/>).
/// </summary>
public readonly record struct PageTableWrite(long Index, int Vcpu, ulong Pa, ulong Value, ulong Va, int Width, bool User, bool IsInit);

/// <summary>What an invalidation drops.</summary>
public enum InvalidationKind : byte
{
    /// <summary>INVLPG: one va in the current PCID (and global entries for it).</summary>
    Page = 0,

    /// <summary><c>flush</c> 0: non-global translations of the current PCID, like a CR3 reload.</summary>
    NonGlobal = 1,

    /// <summary><c>flush</c> 1: everything, global entries too.</summary>
    All = 2,
}

/// <summary>An <c>invlpg</c> (op 5) or <c>flush</c> (op 6).</summary>
public readonly record struct Invalidation(long Index, int Vcpu, ulong Va, InvalidationKind Kind);

/// <summary>A <c>ptdying</c> hint (op 9): the hierarchy rooted at <see cref="Pa"/> is being torn down.</summary>
public readonly record struct TableDying(long Index, int Vcpu, ulong Pa);
