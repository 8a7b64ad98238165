using Replay.Engines.Paging;

namespace Replay.Engines.WritablePt;

/// <summary>
/// One of the domain's two writable-page-table slots (Xen's <c>d->arch.ptwr[PTWR_PT_ACTIVE]</c> and
/// <c>[PTWR_PT_INACTIVE]</c>): the disconnected L1, where it hung, the 4 KiB snapshot taken when it was made
/// writable, and how many entries the slot's last batch changed.
/// </summary>
internal sealed class PtwrSlot
{
    public const int Active = 0;
    public const int Inactive = 1;

    private readonly ulong[] _snapshot = new ulong[Pte.EntriesPerTable];

    /// <summary>An L1 is disconnected in this slot (Xen: <c>l1va != 0</c>).</summary>
    public bool InUse { get; private set; }

    /// <summary>Guest frame of the writable L1.</summary>
    public ulong Frame { get; private set; }

    /// <summary>ACTIVE only: gpa of the L2 entry whose PRESENT bit Xen cleared (modelled, not written).</summary>
    public ulong L2Entry { get; private set; }

    /// <summary>ACTIVE only: the 2 MiB region (va &gt;&gt; 21) the L1 maps (Xen: <c>l2_idx</c>).</summary>
    public ulong Region { get; private set; }

    /// <summary>The va of the write that opened the batch, 0 if the trace did not record it (Xen: <c>l1va</c>).</summary>
    public ulong WriteVa { get; private set; }

    /// <summary>
    /// Entries changed by the slot's last batch (Xen: <c>prev_nr_updates</c>). Starts at 0 because Xen zeroes
    /// <c>struct domain</c> when it allocates it, so the domain's first trap on each slot is emulated.
    /// </summary>
    public int PrevUpdates { get; set; }

    /// <summary>Disconnects <paramref name="frame"/> into this slot, snapshotting its current 512 entries.</summary>
    public void Open(ulong frame, ulong l2Entry, ulong region, ulong writeVa, ulong[]? words)
    {
        InUse = true;
        Frame = frame;
        L2Entry = l2Entry;
        Region = region;
        WriteVa = writeVa;
        if (words is null)
        {
            Array.Clear(_snapshot);
        }
        else
        {
            words.CopyTo(_snapshot, 0);
        }
    }

    /// <summary>
    /// Closes the slot: compares all 512 entries with the snapshot (Xen's <c>revalidate_l1</c>) and returns how
    /// many changed, which become <see cref="PrevUpdates"/>.
    /// </summary>
    public int Close(ulong[]? words)
    {
        int modified = 0;
        for (int i = 0; i < _snapshot.Length; i++)
        {
            if ((words is null ? 0 : words[i]) != _snapshot[i])
            {
                modified++;
            }
        }

        InUse = false;
        PrevUpdates = modified;
        return modified;
    }
}
