namespace Replay.Engines.Parts.Shadow;

/// <summary>What the engine counts, independent of whose name a personality gives it.</summary>
internal enum Cnt
{
    Fault,
    FastGnp,
    BailRealFault,
    EmulateWrite,
    FastEmulate,
    Fixed,
    HashLookups,
    HashMiss,
    EarlyUnshadow,
    Unshadow,
    Prealloc1,
    Prealloc2,
    Unsync,
    UnsyncEvict,
    Resync,
    ResyncOnly,
    Invlpg,
    PteWrite,
    Flooded,
    PdeZapped,
    Zapped,
    Recycled,
    PrevRootHits,
    Writeable,
    VerifySkipped,
    DirtyFaults,
    Prefetched,
    Rewalks,
    PcidHidden,
    Count,
}

/// <summary>
/// Counter names per personality: Xen's perf counters (<c>xen/include/asm-x86/perfc_defn.h</c>, REFERENCES §1)
/// and KVM's stats (<c>kvm_vm_stat</c>/<c>kvm_vcpu_stat</c>, REFERENCES §2) where the real system has one; our
/// own plain names otherwise. A null name: the personality has no such event.
/// </summary>
internal static class ShadowCounters
{
    private static readonly string?[] Xen = new string?[(int)Cnt.Count];
    private static readonly string?[] Kvm = new string?[(int)Cnt.Count];

    static ShadowCounters()
    {
        Set(Cnt.Fault, "shadow_fault", "pf_taken");
        Set(Cnt.FastGnp, "shadow_fault_fast_gnp", null);
        Set(Cnt.BailRealFault, "shadow_fault_bail_real_fault", "pf_guest");
        Set(Cnt.EmulateWrite, "shadow_fault_emulate_write", "pf_emulate");
        Set(Cnt.FastEmulate, "shadow_fault_fast_emulate", null);
        Set(Cnt.Fixed, "shadow_fault_fixed", "pf_fixed");
        Set(Cnt.HashLookups, "shadow_hash_lookups", null);
        Set(Cnt.HashMiss, "shadow_hash_lookup_miss", "mmu_cache_miss");
        Set(Cnt.EarlyUnshadow, "shadow_early_unshadow", null);
        Set(Cnt.Unshadow, "shadow_unshadow", null);
        Set(Cnt.Prealloc1, "shadow_prealloc_1", null);
        Set(Cnt.Prealloc2, "shadow_prealloc_2", null);
        Set(Cnt.Unsync, "shadow_unsync", "mmu_unsync");
        Set(Cnt.UnsyncEvict, "shadow_unsync_evict", null);
        Set(Cnt.Resync, "shadow_resync", "mmu_sync_page");
        Set(Cnt.ResyncOnly, "shadow_resync_only", "sync_page_left_unsync");
        Set(Cnt.Invlpg, "shadow_invlpg", "invlpg");
        Set(Cnt.PteWrite, null, "mmu_pte_write");
        Set(Cnt.Flooded, null, "mmu_flooded");
        Set(Cnt.PdeZapped, null, "mmu_pde_zapped");
        Set(Cnt.Zapped, null, "mmu_shadow_zapped");
        Set(Cnt.Recycled, null, "mmu_recycled");
        Set(Cnt.PrevRootHits, null, "prev_root_hits");
        Set(Cnt.Writeable, "shadow_writeable", "rmap_write_protected");
        Set(Cnt.VerifySkipped, "emulate_verify_skipped", null);
        Set(Cnt.DirtyFaults, "dirty_faults", "dirty_faults");
        Set(Cnt.Prefetched, "prefetched", "prefetched");
        Set(Cnt.Rewalks, "tlb_permission_rewalks", "tlb_permission_rewalks");
        Set(Cnt.PcidHidden, "pcid_hidden_cr3_loads", null);
    }

    /// <summary>The personality's counter names (in report order) and, per <see cref="Cnt"/>, its index or -1.</summary>
    public static (string[] Names, int[] Index) For(Personality p)
    {
        var table = p == Personality.Xen ? Xen : Kvm;
        var names = new List<string>();
        var index = new int[(int)Cnt.Count];
        for (int i = 0; i < index.Length; i++)
        {
            index[i] = table[i] is null ? -1 : names.Count;
            if (table[i] is { } n)
            {
                names.Add(n);
            }
        }

        return (names.ToArray(), index);
    }

    private static void Set(Cnt c, string? xen, string? kvm)
    {
        Xen[(int)c] = xen;
        Kvm[(int)c] = kvm;
    }
}
