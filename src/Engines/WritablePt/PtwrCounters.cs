using Replay.Engines.Contract;

namespace Replay.Engines.WritablePt;

/// <summary>
/// The counters of <see cref="WritablePtEngine"/>, declared once in stats order (Xen 3.0 perf-counter names where
/// one exists); a class of their own, so the list is complete before the engine's descriptor or stats read it.
/// The last 64 are Xen's <c>wpt_updates</c> histogram, bucketed exactly as Xen's <c>perfc_incr_histo</c> with
/// <c>PERFC_MAX_PT_UPDATES</c> 64 and <c>PERFC_PT_UPDATES_BUCKET_SIZE</c> 3 (xen/include/xen/perfc.h,
/// perfc_defn.h): index 0 = batches that changed no entry, 1 = one entry, index k in 2..62 = 3k−4 to 3k−2
/// entries (2–4, 5–7, …, 182–184), index 63 = 185 or more. Named <c>wpt_updates_LO_HI</c> by the range.
/// </summary>
internal static class PtwrCounters
{
    // The list first: static fields initialise in textual order, and every handle below declares into it.
    public static readonly CounterList List = new();

    /// <summary>Write faults on an L1 page-table frame: every ptwr_disconnect and ptwr_emulate exit.</summary>
    public static readonly CounterHandle Traps = List.Add("ptwr_traps");

    /// <summary>L1s disconnected and made writable (batches opened).</summary>
    public static readonly CounterHandle Batches = List.Add("ptwr_batches");

    public static readonly CounterHandle BatchesActive = List.Add("ptwr_batches_active");
    public static readonly CounterHandle BatchesInactive = List.Add("ptwr_batches_inactive");

    /// <summary>Single writes emulated instead of batched (Xen's <c>ptwr_emulations</c>).</summary>
    public static readonly CounterHandle Emulations = List.Add("ptwr_emulations");

    /// <summary>… because the slot's previous batch changed nothing (or the domain's first trap on the slot).</summary>
    public static readonly CounterHandle EmulateEmptyBatch = List.Add("ptwr_emulate_empty_batch");

    /// <summary>… because the L1 is linked at several va positions (<c>PGT_va_unknown</c>).</summary>
    public static readonly CounterHandle EmulateMultiL2 = List.Add("ptwr_emulate_multi_l2");

    /// <summary>… because the write's va lies in the region the L1 itself maps.</summary>
    public static readonly CounterHandle EmulateSelfMap = List.Add("ptwr_emulate_self_map");

    /// <summary>… because a multi-vCPU guest's L1 has other links than the one ACTIVE needs.</summary>
    public static readonly CounterHandle EmulateSmp = List.Add("ptwr_emulate_smp");

    /// <summary>Page-table writes that landed natively in a disconnected L1 (the write that opened the batch included).</summary>
    public static readonly CounterHandle Updates = List.Add("ptwr_updates");

    public static readonly CounterHandle ReconnectHypercall = List.Add("reconnect_hypercall");
    public static readonly CounterHandle ReconnectAccess = List.Add("reconnect_access");
    public static readonly CounterHandle ReconnectConflict = List.Add("reconnect_conflict");

    /// <summary>Both slots reconnected by the multi-vCPU check before an emulation (<c>cleanup_writable_pagetable</c>).</summary>
    public static readonly CounterHandle ReconnectSmp = List.Add("reconnect_smp");

    /// <summary>Entries found changed and revalidated, over every reconnect.</summary>
    public static readonly CounterHandle ReconnectEntries = List.Add("reconnect_entries");

    /// <summary>Domain-wide TLB flushes when an ACTIVE L1 is disconnected.</summary>
    public static readonly CounterHandle DisconnectTlbFlushes = List.Add("disconnect_tlb_flushes");

    /// <summary>Domain-wide TLB flushes after a hypercall untyped a page table (<c>DOP_FLUSH_ALL_TLBS</c>).</summary>
    public static readonly CounterHandle DeferredTlbFlushes = List.Add("deferred_tlb_flushes");

    /// <summary>Page-table stores to frames that are no table of a live hierarchy: plain stores, no exit.</summary>
    public static readonly CounterHandle UnhookedPtWrites = List.Add("unhooked_pt_writes");

    // Levels copied from the table hierarchy's own counts (not incremented here).
    public static readonly CounterHandle TablesValidated = List.Add("tables_validated");
    public static readonly CounterHandle TablesReleased = List.Add("tables_released");
    public static readonly CounterHandle LevelConflicts = List.Add("level_conflicts");

    public static readonly CounterHandle PermissionRewalks = List.Add("tlb_permission_rewalks");

    public const int HistogramBuckets = 64;

    /// <summary>Histogram bucket 0 (<c>wpt_updates_0</c>); the other buckets follow it.</summary>
    public static readonly CounterHandle WptUpdates = DeclareHistogram();

    /// <summary>Every counter name, in stats order.</summary>
    public static IReadOnlyList<string> Names => List.All;

    /// <summary>The <c>wpt_updates</c> bucket of a batch that changed <paramref name="modified"/> entries.</summary>
    public static int Bucket(int modified) => modified switch
    {
        0 => 0,
        1 => 1,
        _ => (modified - 2) / 3 < HistogramBuckets - 3 ? ((modified - 2) / 3) + 2 : HistogramBuckets - 1,
    };

    /// <summary>The counter of the <c>wpt_updates</c> bucket of a batch that changed <paramref name="modified"/> entries.</summary>
    public static CounterHandle WptUpdatesOf(int modified) => new(WptUpdates.Index + Bucket(modified));

    /// <summary>Declares the 64 buckets in order; returns bucket 0's handle.</summary>
    private static CounterHandle DeclareHistogram()
    {
        var first = List.Add(HistogramName(0));
        for (int b = 1; b < HistogramBuckets; b++)
        {
            List.Add(HistogramName(b));
        }

        return first;
    }

    private static string HistogramName(int bucket) => bucket switch
    {
        0 => "wpt_updates_0",
        1 => "wpt_updates_1",
        HistogramBuckets - 1 => $"wpt_updates_{(3 * bucket) - 4}_512",
        _ => $"wpt_updates_{(3 * bucket) - 4}_{(3 * bucket) - 2}",
    };
}
