namespace Replay.Engines.WritablePt;

/// <summary>
/// Counter indices and names of <see cref="WritablePtEngine"/> (Xen 3.0 perf-counter names where one exists).
/// The last 64 are Xen's <c>wpt_updates</c> histogram, bucketed exactly as Xen's <c>perfc_incr_histo</c> with
/// <c>PERFC_MAX_PT_UPDATES</c> 64 and <c>PERFC_PT_UPDATES_BUCKET_SIZE</c> 3 (xen/include/xen/perfc.h,
/// perfc_defn.h): index 0 = batches that changed no entry, 1 = one entry, index k in 2..62 = 3k−4 to 3k−2
/// entries (2–4, 5–7, …, 182–184), index 63 = 185 or more. Named <c>wpt_updates_LO_HI</c> by the range.
/// </summary>
internal static class PtwrCounters
{
    /// <summary>Write faults on an L1 page-table frame: every ptwr_disconnect and ptwr_emulate exit.</summary>
    public const int Traps = 0;

    /// <summary>L1s disconnected and made writable (batches opened).</summary>
    public const int Batches = 1;

    public const int BatchesActive = 2;
    public const int BatchesInactive = 3;

    /// <summary>Single writes emulated instead of batched (Xen's <c>ptwr_emulations</c>).</summary>
    public const int Emulations = 4;

    /// <summary>… because the slot's previous batch changed nothing (or the domain's first trap on the slot).</summary>
    public const int EmulateEmptyBatch = 5;

    /// <summary>… because the L1 is linked at several va positions (<c>PGT_va_unknown</c>).</summary>
    public const int EmulateMultiL2 = 6;

    /// <summary>… because the write's va lies in the region the L1 itself maps.</summary>
    public const int EmulateSelfMap = 7;

    /// <summary>… because a multi-vCPU guest's L1 has other links than the one ACTIVE needs.</summary>
    public const int EmulateSmp = 8;

    /// <summary>Page-table writes that landed natively in a disconnected L1 (the write that opened the batch included).</summary>
    public const int Updates = 9;

    public const int ReconnectHypercall = 10;
    public const int ReconnectAccess = 11;
    public const int ReconnectConflict = 12;

    /// <summary>Both slots reconnected by the multi-vCPU check before an emulation (<c>cleanup_writable_pagetable</c>).</summary>
    public const int ReconnectSmp = 13;

    /// <summary>Entries found changed and revalidated, over every reconnect.</summary>
    public const int ReconnectEntries = 14;

    /// <summary>Domain-wide TLB flushes when an ACTIVE L1 is disconnected.</summary>
    public const int DisconnectTlbFlushes = 15;

    /// <summary>Domain-wide TLB flushes after a hypercall untyped a page table (<c>DOP_FLUSH_ALL_TLBS</c>).</summary>
    public const int DeferredTlbFlushes = 16;

    /// <summary>Page-table stores to frames that are no table of a live hierarchy: plain stores, no exit.</summary>
    public const int UnhookedPtWrites = 17;

    public const int TablesValidated = 18;
    public const int TablesReleased = 19;
    public const int LevelConflicts = 20;
    public const int PermissionRewalks = 21;

    /// <summary>Index of histogram bucket 0.</summary>
    public const int WptUpdates = 22;

    public const int HistogramBuckets = 64;

    public static readonly string[] Names = BuildNames();

    /// <summary>The <c>wpt_updates</c> bucket of a batch that changed <paramref name="modified"/> entries.</summary>
    public static int Bucket(int modified) => modified switch
    {
        0 => 0,
        1 => 1,
        _ => (modified - 2) / 3 < HistogramBuckets - 3 ? ((modified - 2) / 3) + 2 : HistogramBuckets - 1,
    };

    private static string[] BuildNames()
    {
        string[] fixedNames =
        [
            "ptwr_traps", "ptwr_batches", "ptwr_batches_active", "ptwr_batches_inactive", "ptwr_emulations",
            "ptwr_emulate_empty_batch", "ptwr_emulate_multi_l2", "ptwr_emulate_self_map", "ptwr_emulate_smp",
            "ptwr_updates", "reconnect_hypercall", "reconnect_access", "reconnect_conflict", "reconnect_smp",
            "reconnect_entries", "disconnect_tlb_flushes", "deferred_tlb_flushes", "unhooked_pt_writes",
            "tables_validated", "tables_released", "level_conflicts", "tlb_permission_rewalks",
        ];
        var names = new List<string>(fixedNames);
        for (int b = 0; b < HistogramBuckets; b++)
        {
            names.Add(b switch
            {
                0 => "wpt_updates_0",
                1 => "wpt_updates_1",
                HistogramBuckets - 1 => $"wpt_updates_{(3 * b) - 4}_512",
                _ => $"wpt_updates_{(3 * b) - 4}_{(3 * b) - 2}",
            });
        }

        return [.. names];
    }
}
