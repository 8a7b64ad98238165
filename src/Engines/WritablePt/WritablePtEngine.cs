using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Hardware;
using static Replay.Engines.WritablePt.PtwrCounters;

namespace Replay.Engines.WritablePt;

/// <summary>Options of <see cref="WritablePtEngine"/>.</summary>
/// <param name="UnpinOnDying">
/// Read <c>ptdying</c> as the PV guest unpinning that root (XenoLinux's <c>mm_unpin</c> at exit:
/// MMUEXT_UNPIN_TABLE, an <c>mmuext_op</c> hypercall), so its tables stop being page tables once no vCPU has the
/// root loaded and later stores to them are plain stores. Off: the hint is ignored.
/// </param>
public sealed record WritablePtOptions(bool UnpinOnDying = true);

/// <summary>
/// Xen PV writable page tables, the batched scheme of Xen 2.x–3.0.2 (SPEC §3 <c>writable-pt</c>, REFERENCES §4),
/// reconstructed from xen/arch/x86/mm.c of Xen 3.0: <c>ptwr_do_page_fault</c>, <c>ptwr_flush</c>,
/// <c>revalidate_l1</c>, <c>cleanup_writable_pagetable</c>, <c>do_mmu_update</c>, <c>do_mmuext_op</c>.
/// <para>
/// The hardware walks the guest's own tables: accesses use the native TLB and 1-D walk with the semantics of
/// <see cref="HardwareMmu"/>; there are no hidden faults and guest faults are the guest's. Frames of every live
/// hierarchy (<see cref="TableHierarchy"/>) are read-only to the guest. A store to an L1 traps
/// (<c>PV_TRAP</c>) and either opens a batch (<c>ptwr_disconnect</c>: snapshot, make writable, and for an ACTIVE
/// L1 take it out of its L2 entry and flush the domain's TLBs; later stores to it run natively) or is emulated
/// (<c>ptwr_emulate</c>). A batch ends with a reconnect (<c>ptwr_flush</c>): compare all 512 entries with the
/// snapshot, revalidate the changed ones, write-protect again. A store to a higher-level table is an explicit
/// <c>mmu_update</c> hypercall; <c>cr3</c> is <c>mmuext_op</c> NEW_BASEPTR (<c>new_baseptr</c>), <c>invlpg</c> and
/// <c>flush</c> are <c>mmuext_op</c> (INVLPG_LOCAL, TLB_FLUSH_LOCAL). A store to a frame that is no table of a live
/// hierarchy is a plain store, and <c>ptinit</c> only sets memory.
/// </para>
/// <para>
/// Exits are exactly the guest's traps and hypercalls (SPEC's definition of an exit), so a reconnect done
/// inside another exit — by a hypercall (every <c>mmu_update</c>/<c>mmuext_op</c> starts with
/// <c>cleanup_writable_pagetable</c>) or inside a trap (slot conflict, multi-vCPU cleanup) — is no exit of its
/// own: its changed entries are the units of the exit that did it, and it is counted in
/// <c>reconnect_hypercall</c>/<c>reconnect_conflict</c>/<c>reconnect_smp</c>. Only a reconnect forced by an access
/// into the disconnected ACTIVE region is an exit (<c>PV_TRAP</c>/<c>ptwr_reconnect</c>, Xen's check at the top of
/// <c>do_page_fault</c>). So the units of every exit kind are "entries found changed and revalidated".
/// </para>
/// <para>
/// Summary fields: <c>EmulatedWrites</c> = writes the hypervisor performed for the guest (emulated L1 writes
/// plus <c>mmu_update</c>s); <c>Unsyncs</c> = batches opened, <c>Resyncs</c> = reconnects (the writable-page-table
/// ancestors of shadow out-of-sync L1s); shadow-page fields stay 0.
/// </para>
/// </summary>
[GenerateHooks]
public sealed partial class WritablePtEngine : IMmuEngine
{
    /// <summary>The engine's declarations; a class of their own, so they are complete before the descriptor reads them (counters: <see cref="PtwrCounters"/>).</summary>
    private static class Declared
    {
        public static readonly OptionList Options = new();
        public static readonly BoolOption UnpinOnDying = Options.Bool("unpin_on_dying", true,
            "Treat ptdying as the guest unpinning that root (an mmuext_op hypercall); its tables stop being page tables once no vCPU has it loaded.");

        public static readonly ExitKindList Kinds = new();
        public static readonly ExitHandle Disconnect = Kinds.Add(ExitReason.PvTrap, "ptwr_disconnect");
        public static readonly ExitHandle Emulate = Kinds.Add(ExitReason.PvTrap, "ptwr_emulate");
        public static readonly ExitHandle Reconnect = Kinds.Add(ExitReason.PvTrap, "ptwr_reconnect");
        public static readonly ExitHandle MmuUpdate = Kinds.Add(ExitReason.Hypercall, "mmu_update");
        public static readonly ExitHandle NewBaseptr = Kinds.Add(ExitReason.Hypercall, "new_baseptr");
        public static readonly ExitHandle MmuextOp = Kinds.Add(ExitReason.Hypercall, "mmuext_op");

        // A reconnect is its own exit only when an access faults inside the disconnected range; the ones a hypercall
        // (cleanup_writable_pagetable) or a disconnect trap (slot conflict, SMP rule) performs are work inside that
        // exit: recorded as WITHIN_EXIT/ptwr_reconnect, priced at ptwr_reconnect's cost with no transition of their own.
        public static readonly ExitHandle ReconnectWithin = Kinds.Add(ExitReason.WithinExit, "ptwr_reconnect");
    }

    public static readonly EngineDescriptor Descriptor = new(
        "writable-pt",
        "Xen PV writable page tables (Xen 2.x-3.0.2): L1 writes batched on a disconnected, writable L1; other page-table updates by hypercall.",
        Declared.Options.All,
        (config, o) => new WritablePtEngine(config, new WritablePtOptions(Declared.UnpinOnDying.Of(o))))
    {
        ExitKinds = Declared.Kinds.All,
    };

    private const ulong NoEntry = ulong.MaxValue;

    private readonly TableHierarchy _tables;
    private readonly PtwrSlot[] _slots = [new(), new()];
    private readonly ulong[] _roots; // per vCPU: the root frame its CR3 holds a type reference on, or NoEntry
    private readonly bool _smp;
    private readonly bool _unpinOnDying;
    private readonly ulong _vaMask;

    public WritablePtEngine(MachineConfig config, WritablePtOptions? options = null)
    {
        Machine = new GuestMachine(config);
        Stats = new EngineStats(ExitKinds.Count, CounterNames.Count);
        _tables = new TableHierarchy(Machine.Memory, Machine.Levels);
        _roots = Enumerable.Repeat(NoEntry, Machine.Vcpus.Length).ToArray();
        _smp = Machine.Vcpus.Length > 1;
        _unpinOnDying = (options ?? new WritablePtOptions()).UnpinOnDying;
        _vaMask = (1UL << Pte.Shift(Machine.Levels + 1)) - 1;
    }

    public IReadOnlyList<ExitKind> ExitKinds => Declared.Kinds.All;

    public IReadOnlyList<string> CounterNames => Names;

    public EngineStats Stats { get; }

    public GuestMachine Machine { get; }

    public void Run(Trace.EventBatch batch, int start, int end, bool verify) => ReplayLoop.Run(new Hooks(this), batch, start, end, verify);

    /// <summary>
    /// The hardware translation of <see cref="HardwareMmu.Translate"/>, with one PV addition before the walk: a
    /// walk that would read the L2 entry of the disconnected ACTIVE L1 (not present for the hardware) faults
    /// into Xen, which reconnects the L1 and lets the access retry (the check at the top of Xen's
    /// <c>do_page_fault</c>). A TLB hit never faults, so it never reconnects. The aborted walk's references are
    /// part of the trap and not counted.
    /// </summary>
    public Translation Access(in MemoryAccess access)
    {
        var a = access;
        if (HardwareMmu.TryTlbHit(Machine, Stats, a, PermissionRewalks.Index, out var hit))
        {
            return hit;
        }

        var v = Machine.Vcpus[a.Vcpu];
        var active = _slots[PtwrSlot.Active];
        bool inRegion = active.InUse && ((a.Va & _vaMask) >> Pte.LargePageShift) == active.Region;
        if (inRegion && L2EntryOf(v.Cr3, a.Va) == active.L2Entry)
        {
            Stats.Exit(Declared.Reconnect, ReconnectSlot(PtwrSlot.Active, ReconnectAccess));
            inRegion = false;
        }

        var w = HardwareMmu.Walk(Machine, a, out var served);
        served.AddTo(Stats);
        if (w.PscHit)
        {
            Stats.PscHits++;
        }

        if (w.Fault)
        {
            if (inRegion)
            {
                // Xen compares only the fault address's L2 index, so a genuine fault in the disconnected region
                // (through another address space's tables) also reconnects before it reaches the guest.
                Stats.Exit(Declared.Reconnect, ReconnectSlot(PtwrSlot.Active, ReconnectAccess));
            }

            Stats.GuestFaults++;
            return Translation.GuestFault;
        }

        v.Tlb.Insert(a.Va, v.Pcid, a.Kind, w.PageShift, w.PageBase, w.Perms, w.Perms, w.Dirty, w.Global);
        return new Translation(w.FrameOf(a.Va), w.Perms, false);
    }

    /// <summary>
    /// MMUEXT_NEW_BASEPTR (<c>new_guest_cr3</c>): reconnect both slots, pin the root on its first load (Linux pins
    /// every pgd before using it), take a type reference on the new root and drop the old one, then the TLB does
    /// what the guest's MOV to CR3 asks (<see cref="HardwareMmu.LoadCr3"/>).
    /// </summary>
    public void LoadCr3(in Cr3Load load)
    {
        ReconnectAll(ReconnectHypercall);
        long released = _tables.Released;
        ulong root = (load.Value & Pte.AddrMask) >> Pte.PageShift;
        ulong old = _roots[load.Vcpu];
        _tables.Pin(root);
        _tables.AcquireRoot(root);
        if (old != NoEntry)
        {
            _tables.ReleaseRoot(old);
        }

        _roots[load.Vcpu] = root;
        HardwareMmu.LoadCr3(Machine, load);
        EndHypercall(Declared.NewBaseptr, released);
    }

    public void WritePageTable(in PageTableWrite write)
    {
        ulong frame = write.Pa >> Pte.PageShift;
        if (write.IsInit)
        {
            Store(write, _tables.Find(frame));
            return;
        }

        if (SlotOf(frame) >= 0)
        {
            // The L1 is writable: the store runs natively, part of the batch.
            Machine.Memory.Store(write.Pa, write.Value, write.Width);
            Stats.Count(Updates);
            return;
        }

        var table = _tables.Find(frame);
        if (table is null)
        {
            Machine.Memory.Store(write.Pa, write.Value, write.Width);
            Stats.Count(UnhookedPtWrites);
        }
        else if (table.Level >= 2)
        {
            // do_mmu_update: cleanup_writable_pagetable, then validate and apply one entry.
            ReconnectAll(ReconnectHypercall);
            long released = _tables.Released;
            Store(write, table);
            Stats.EmulatedWrites++;
            EndHypercall(Declared.MmuUpdate, released);
        }
        else
        {
            TrapOnL1(write, table);
        }
    }

    /// <summary>MMUEXT_INVLPG_LOCAL or MMUEXT_TLB_FLUSH_LOCAL: reconnect both slots, then the invalidation itself.</summary>
    public void Invalidate(in Invalidation inv)
    {
        ReconnectAll(ReconnectHypercall);
        HardwareMmu.Invalidate(Machine, inv);
        Stats.Exit(Declared.MmuextOp);
    }

    /// <summary>With <see cref="WritablePtOptions.UnpinOnDying"/>: MMUEXT_UNPIN_TABLE of a pinned root.</summary>
    public void TableDying(in TableDying hint)
    {
        ulong root = hint.Pa >> Pte.PageShift;
        if (!_unpinOnDying || !_tables.IsPinned(root))
        {
            return;
        }

        ReconnectAll(ReconnectHypercall);
        long released = _tables.Released;
        _tables.Unpin(root);
        EndHypercall(Declared.MmuextOp, released);
    }

    /// <summary>
    /// A kernel store to a read-only L1 (<c>ptwr_do_page_fault</c>), in Xen's order: emulate if the L1 is linked
    /// at several va positions or the store's own va lies in the region the L1 maps; choose ACTIVE if the L1
    /// hangs in the writing vCPU's current address space, else INACTIVE; on a multi-vCPU guest emulate (after
    /// reconnecting both slots) unless the L1 has exactly the links that slot allows (1 for ACTIVE, 0 for
    /// INACTIVE — L1s are not pinned); reconnect the slot's occupant; emulate if the slot's last batch changed
    /// nothing (and mark the slot so the next trap batches again); otherwise disconnect.
    /// The trace's <c>user</c> flag is not consulted: a user-mode store to a page table is no ptwr fault in Xen
    /// and cannot appear in a well-formed trace.
    /// </summary>
    private void TrapOnL1(in PageTableWrite write, TableInfo l1)
    {
        Stats.Count(Traps);
        ulong region = l1.Va >> Pte.LargePageShift;
        if (l1.MultiVa)
        {
            EmulateWrite(write, EmulateMultiL2);
            return;
        }

        if (write.Va != 0 && ((write.Va & _vaMask) >> Pte.LargePageShift) == region)
        {
            EmulateWrite(write, EmulateSelfMap);
            return;
        }

        ulong l2Entry = _roots[write.Vcpu] == NoEntry ? NoEntry : L2EntryOf(Machine.Vcpus[write.Vcpu].Cr3, l1.Va);
        bool active = l2Entry != NoEntry && PointsTo(Machine.Memory.ReadWord(l2Entry), l1.Frame);
        int which = active ? PtwrSlot.Active : PtwrSlot.Inactive;
        if (_smp && l1.ParentLinks != (active ? 1 : 0))
        {
            ReconnectAll(ReconnectSmp);
            EmulateWrite(write, EmulateSmp);
            return;
        }

        var slot = _slots[which];
        if (slot.InUse)
        {
            ReconnectSlot(which, ReconnectConflict);
        }

        if (slot.PrevUpdates == 0)
        {
            slot.PrevUpdates = 1;
            EmulateWrite(write, EmulateEmptyBatch);
            return;
        }

        slot.Open(l1.Frame, active ? l2Entry : NoEntry, active ? region : NoEntry, write.Va, Machine.Memory.Frame(l1.Frame));
        Stats.Count(Batches);
        Stats.Count(active ? BatchesActive : BatchesInactive);
        Stats.Unsyncs++;
        if (active)
        {
            // flush_tlb_mask(d->domain_dirty_cpumask): every vCPU drops its non-global translations.
            FlushDomainTlbs(DisconnectTlbFlushes);
        }

        Machine.Memory.Store(write.Pa, write.Value, write.Width);
        Stats.Count(Updates);
        Stats.Exit(Declared.Disconnect);
    }

    /// <summary><c>ptwr_emulated_update</c>: Xen validates and performs the one store.</summary>
    private void EmulateWrite(in PageTableWrite write, CounterHandle reason)
    {
        Machine.Memory.Store(write.Pa, write.Value, write.Width);
        Stats.EmulatedWrites++;
        Stats.Count(Emulations);
        Stats.Count(reason);
        Stats.Exit(Declared.Emulate);
    }

    /// <summary><c>cleanup_writable_pagetable</c>: reconnects ACTIVE then INACTIVE.</summary>
    private void ReconnectAll(CounterHandle trigger)
    {
        for (int which = PtwrSlot.Active; which <= PtwrSlot.Inactive; which++)
        {
            if (_slots[which].InUse)
            {
                ReconnectSlot(which, trigger);
            }
        }
    }

    /// <summary>
    /// <c>ptwr_flush</c>: write-protect the L1 again and INVLPG the va the guest wrote it through on every vCPU
    /// (<c>flush_tlb_one_mask</c>; skipped when the trace did not record that va), compare all 512 entries with
    /// the snapshot and revalidate the changed ones (<c>revalidate_l1</c>), record the count in the slot and in
    /// the <c>wpt_updates</c> histogram, and for ACTIVE make its L2 entry present again (modelled state only:
    /// guest memory never lost the bit). Returns the entries changed; a reconnect done inside another exit (any
    /// trigger but an access fault) is recorded here as WITHIN_EXIT/ptwr_reconnect work with those units.
    /// </summary>
    private int ReconnectSlot(int which, CounterHandle trigger)
    {
        var slot = _slots[which];
        if (slot.WriteVa != 0)
        {
            for (int i = 0; i < Machine.Vcpus.Length; i++)
            {
                HardwareMmu.Invalidate(Machine, new Invalidation(0, i, slot.WriteVa, InvalidationKind.Page));
            }
        }

        int modified = slot.Close(Machine.Memory.Frame(slot.Frame));
        Stats.Count(WptUpdatesOf(modified));
        Stats.Count(trigger);
        Stats.Count(ReconnectEntries, modified);
        Stats.Resyncs++;
        if (trigger != ReconnectAccess)
        {
            Stats.Within(Declared.ReconnectWithin, modified);
        }

        return modified;
    }

    /// <summary>
    /// Records a hypercall exit; if it untyped a page table, Xen's <c>free_page_type</c> set
    /// <c>DOP_FLUSH_ALL_TLBS</c> and <c>process_deferred_ops</c> flushes every vCPU's TLB before returning.
    /// </summary>
    private void EndHypercall(ExitHandle kind, long releasedBefore)
    {
        if (_tables.Released != releasedBefore)
        {
            FlushDomainTlbs(DeferredTlbFlushes);
        }

        SyncTableCounters();
        Stats.Exit(kind);
    }

    private void FlushDomainTlbs(CounterHandle counter)
    {
        foreach (var v in Machine.Vcpus)
        {
            v.Tlb.Flush(null, includeGlobal: false);
            v.Psc.FlushAll();
        }

        Stats.Count(counter);
    }

    private void Store(in PageTableWrite write, TableInfo? table)
    {
        var (old, updated) = Machine.Memory.Store(write.Pa, write.Value, write.Width);
        if (table is not null && old != updated)
        {
            _tables.OnStore(table, write.Pa & ~7UL, old, updated);
            SyncTableCounters();
        }
    }

    private void SyncTableCounters()
    {
        Stats.Counters[TablesValidated.Index] = _tables.Validated;
        Stats.Counters[TablesReleased.Index] = _tables.Released;
        Stats.Counters[LevelConflicts.Index] = _tables.LevelConflicts;
    }

    private int SlotOf(ulong frame)
    {
        for (int which = PtwrSlot.Active; which <= PtwrSlot.Inactive; which++)
        {
            if (_slots[which].InUse && _slots[which].Frame == frame)
            {
                return which;
            }
        }

        return -1;
    }

    /// <summary>The gpa of the L2 entry the walk of <paramref name="va"/> from <paramref name="cr3"/> reads, or <see cref="NoEntry"/>.</summary>
    private ulong L2EntryOf(ulong cr3, ulong va)
    {
        ulong table = cr3 & Pte.AddrMask;
        for (int level = Machine.Levels; level > 2; level--)
        {
            ulong e = Machine.Memory.ReadWord(table + ((ulong)Pte.Index(va, level) << Pte.EntryShift));
            if ((e & Pte.Present) == 0 || (e & Pte.Ps) != 0)
            {
                return NoEntry;
            }

            table = e & Pte.AddrMask;
        }

        return table + ((ulong)Pte.Index(va, 2) << Pte.EntryShift);
    }

    private static bool PointsTo(ulong e, ulong frame) =>
        (e & Pte.Present) != 0 && (e & Pte.Ps) == 0 && (e & Pte.AddrMask) >> Pte.PageShift == frame;
}
