using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.WritablePt;

/// <summary>
/// One guest frame that is currently a page table of a live hierarchy: Xen's page type (<c>PGT_l1_page_table</c>
/// … <c>PGT_l4_page_table</c>) with its type count and va back-pointer (<c>PGT_va_mask</c>).
/// </summary>
internal sealed class TableInfo(ulong frame, int level, ulong va)
{
    public ulong Frame { get; } = frame;

    /// <summary>1 = leaf table (L1) … <c>levels</c> = root. Fixed while the frame stays a table.</summary>
    public int Level { get; } = level;

    /// <summary>Type references: present parent entries pointing here, plus pins and CR3 loads for a root.</summary>
    public int Refs { get; set; }

    /// <summary>The part of <see cref="Refs"/> that are parent entries (Xen's type count of an unpinned table).</summary>
    public int ParentLinks { get; set; }

    /// <summary>Va of the first byte this table maps (its back-pointer); meaningful unless <see cref="MultiVa"/>.</summary>
    public ulong Va { get; set; } = va;

    /// <summary>
    /// Linked at two different va positions at once (Xen's <c>PGT_va_unknown</c>): sticky until the table has no
    /// parent entry left, when Xen makes the back-pointer mutable again (<c>PGT_va_mutable</c>).
    /// </summary>
    public bool MultiVa { get; set; }
}

/// <summary>
/// Which guest frames are page tables right now, and at which level — the model of Xen's page types for a PV
/// guest. A root becomes a table when a vCPU loads it (the first load also pins it, as Linux pins every pgd
/// before using it); every present non-leaf entry of a table makes its target a table one level down. Frames
/// are reference-counted by those links (Xen's type count: <c>get_page_type</c>/<c>put_page_type</c>), so
/// removing a link releases the subtree below it unless it is still reachable another way.
/// A frame linked at a level other than the one it already has keeps its first level (Xen would refuse the
/// second type; the replay must accept the trace), which is counted in <see cref="LevelConflicts"/>. An entry
/// pointing at its own table is not a link. Longer link cycles are never released (a leak that only a
/// malformed or recursively mapped trace can cause).
/// </summary>
internal sealed class TableHierarchy(GuestMemory memory, int levels)
{
    private readonly Dictionary<ulong, TableInfo> _tables = new();
    private readonly HashSet<ulong> _pinned = new();
    private readonly Stack<TableInfo> _work = new();

    /// <summary>Frames that became page tables (Xen validates each: <c>alloc_l1_table</c> … <c>alloc_l4_table</c>).</summary>
    public long Validated { get; private set; }

    /// <summary>Frames that stopped being page tables (<c>free_page_type</c>).</summary>
    public long Released { get; private set; }

    /// <summary>Links to a frame that is already a table at another level.</summary>
    public long LevelConflicts { get; private set; }

    /// <summary>Frames that are page tables now.</summary>
    public int Count => _tables.Count;

    public TableInfo? Find(ulong frame) => _tables.GetValueOrDefault(frame);

    public bool IsPinned(ulong root) => _pinned.Contains(root);

    /// <summary>Pins a root (MMUEXT_PIN_L4_TABLE) unless it is pinned already.</summary>
    public void Pin(ulong root)
    {
        if (_pinned.Add(root))
        {
            AcquireRoot(root);
        }
    }

    /// <summary>Unpins a root (MMUEXT_UNPIN_TABLE); returns false if it was not pinned.</summary>
    public bool Unpin(ulong root)
    {
        if (!_pinned.Remove(root))
        {
            return false;
        }

        Unref(root, parentLink: false);
        Drain();
        return true;
    }

    /// <summary>A type reference on a root that is not a parent link (a pin, or a vCPU's CR3).</summary>
    public void AcquireRoot(ulong root)
    {
        Ref(root, levels, 0, multiVa: false, parentLink: false);
        Drain();
    }

    /// <summary>Drops a reference taken by <see cref="AcquireRoot"/>.</summary>
    public void ReleaseRoot(ulong root)
    {
        Unref(root, parentLink: false);
        Drain();
    }

    /// <summary>
    /// Keeps the links right after a store changed word <paramref name="old"/> to <paramref name="updated"/> at
    /// <paramref name="entryAddr"/> in table <paramref name="table"/>: the new target is referenced before the
    /// old one is released, as Xen's <c>mod_l2_entry</c> … <c>mod_l4_entry</c> do (get new, then put old).
    /// </summary>
    public void OnStore(TableInfo table, ulong entryAddr, ulong old, ulong updated)
    {
        if (table.Level < 2)
        {
            return;
        }

        int index = (int)((entryAddr & Pte.PageOffsetMask) >> Pte.EntryShift);
        if (IsLink(table, updated))
        {
            LinkChild(table, index, updated);
            Drain();
        }

        if (IsLink(table, old))
        {
            Unref((old & Pte.AddrMask) >> Pte.PageShift, parentLink: true);
            Drain();
        }
    }

    /// <summary>Whether entry <paramref name="e"/> of <paramref name="table"/> points at a lower table.</summary>
    public static bool IsLink(TableInfo table, ulong e) =>
        table.Level >= 2 && (e & Pte.Present) != 0 && (e & Pte.Ps) == 0 && (e & Pte.AddrMask) >> Pte.PageShift != table.Frame;

    private void LinkChild(TableInfo parent, int index, ulong e) =>
        Ref((e & Pte.AddrMask) >> Pte.PageShift, parent.Level - 1, parent.Va | ((ulong)index << Pte.Shift(parent.Level)), parent.MultiVa, parentLink: true);

    private void Ref(ulong frame, int level, ulong va, bool multiVa, bool parentLink)
    {
        if (_tables.TryGetValue(frame, out var t))
        {
            t.Refs++;
            if (level != t.Level)
            {
                LevelConflicts++;
            }

            if (parentLink)
            {
                // get_page_type: a mutable back-pointer (no parent link yet) takes the new va; a different va
                // while linked makes it PGT_va_unknown.
                if (t.ParentLinks == 0)
                {
                    t.Va = va;
                    t.MultiVa = multiVa;
                }
                else if (t.Va != va || multiVa)
                {
                    t.MultiVa = true;
                }

                t.ParentLinks++;
            }

            return;
        }

        t = new TableInfo(frame, level, va) { Refs = 1, ParentLinks = parentLink ? 1 : 0, MultiVa = multiVa };
        _tables.Add(frame, t);
        Validated++;
        if (level >= 2)
        {
            _work.Push(t); // validate its entries (linking the tables below) in Drain
        }
    }

    private void Unref(ulong frame, bool parentLink)
    {
        if (!_tables.TryGetValue(frame, out var t))
        {
            return;
        }

        t.Refs--;
        if (parentLink && --t.ParentLinks == 0)
        {
            t.MultiVa = false; // put_page_type: "Make the back pointer mutable again."
        }

        if (t.Refs == 0)
        {
            _tables.Remove(frame);
            Released++;
            if (t.Level >= 2)
            {
                _work.Push(t); // release its links in Drain
            }
        }
    }

    /// <summary>
    /// Scans the tables queued by <see cref="Ref"/> (newly typed: link their children) or <see cref="Unref"/>
    /// (untyped: release their children), until the hierarchy is consistent. A work list, not recursion, so a
    /// long chain of releases cannot overflow the stack.
    /// </summary>
    private void Drain()
    {
        while (_work.Count > 0)
        {
            var t = _work.Pop();
            var words = memory.Frame(t.Frame);
            if (words is null)
            {
                continue;
            }

            bool typed = _tables.TryGetValue(t.Frame, out var now) && ReferenceEquals(now, t);
            for (int i = 0; i < words.Length; i++)
            {
                if (!IsLink(t, words[i]))
                {
                    continue;
                }

                if (typed)
                {
                    LinkChild(t, i, words[i]);
                }
                else
                {
                    Unref((words[i] & Pte.AddrMask) >> Pte.PageShift, parentLink: true);
                }
            }
        }
    }
}
