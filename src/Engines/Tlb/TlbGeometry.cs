using Replay.Engines.Caches;

namespace Replay.Engines.Tlb;

/// <summary>One set-associative TLB array: <see cref="Entries"/> in sets of <see cref="Ways"/> (Ways = Entries is fully associative).</summary>
public sealed record TlbArray(int Entries, int Ways)
{
    public int Sets => Entries / Ways;
}

/// <summary>
/// A vCPU's translation caches, from the cost profile (SPEC §2): first-level data and instruction TLBs per page
/// size, a unified second-level TLB (STLB) with the page sizes it holds, and paging-structure caches
/// (entries per upper level; 0 = that cache is absent). A null array means the CPU has none for that size;
/// a translation of that size is then cached in the next smaller size the level has (fractured).
/// </summary>
public sealed record TlbGeometry
{
    public TlbArray? L1d4K { get; init; }
    public TlbArray? L1d2M { get; init; }
    public TlbArray? L1d1G { get; init; }
    public TlbArray? L1i4K { get; init; }
    public TlbArray? L1i2M { get; init; }
    public TlbArray? Stlb { get; init; }
    public bool Stlb2M { get; init; }
    public bool Stlb1G { get; init; }

    /// <summary>Paging-structure cache of PML5 entries (5-level paging only).</summary>
    public int PscPml5 { get; init; }

    /// <summary>Paging-structure cache of PML4 entries.</summary>
    public int PscPml4 { get; init; }

    /// <summary>Paging-structure cache of PDPT entries.</summary>
    public int PscPdpt { get; init; }

    /// <summary>Paging-structure cache of PD entries.</summary>
    public int PscPd { get; init; }

    /// <summary>
    /// The nested TLB (gpa page → hpa) of the EPT engine's 2-D walk (Bhargava et al.'s NTLB; Intel's cached
    /// guest-physical mappings); null when the CPU has none or no EPT.
    /// </summary>
    public TlbArray? NestedTlb { get; init; }

    /// <summary>EPT paging-structure cache of EPT PML4 entries (gpa-prefix keyed; 0 = absent).</summary>
    public int EptPscPml4 { get; init; }

    /// <summary>EPT paging-structure cache of EPT PDPT entries.</summary>
    public int EptPscPdpt { get; init; }

    /// <summary>EPT paging-structure cache of EPT PD entries.</summary>
    public int EptPscPd { get; init; }

    /// <summary>
    /// VM exits and entries keep the TLB (VPID, Nehalem and later). False for first-generation VT-x (the Pentium 4),
    /// where every VM exit flushes the guest's translations.
    /// </summary>
    public bool Vpid { get; init; } = true;

    /// <summary>The data caches that serve page-walk references (the profile's <c>cache</c> section).</summary>
    public CacheGeometry Caches { get; init; } = CacheGeometry.Default;

    /// <summary>A Skylake-like default used by tests that do not care about geometry.</summary>
    public static readonly TlbGeometry Default = new()
    {
        L1d4K = new(64, 4),
        L1d2M = new(32, 4),
        L1d1G = new(4, 4),
        L1i4K = new(128, 8),
        L1i2M = new(8, 8),
        Stlb = new(1536, 12),
        Stlb2M = true,
        PscPml4 = 2,
        PscPdpt = 4,
        PscPd = 32,
        NestedTlb = new(32, 32),
        EptPscPml4 = 2,
        EptPscPdpt = 4,
        EptPscPd = 32,
    };
}
