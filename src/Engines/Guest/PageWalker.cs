using Replay.Engines.Caches;
using Replay.Engines.Paging;
using Replay.Engines.Tlb;

namespace Replay.Engines.Guest;

/// <summary>Outcome of one page walk.</summary>
public struct WalkResult
{
    /// <summary>The walk failed: a not-present entry, a reserved PS bit, or a permission violation (or it was stopped).</summary>
    public bool Fault;

    /// <summary>The table hook stopped the walk before reading an entry (under EPT: the table's gpa is not mapped).</summary>
    public bool Stopped;

    /// <summary>With <see cref="Stopped"/>: the guest-physical address of the table the walk could not read.</summary>
    public ulong StoppedAt;

    /// <summary>Guest-physical base of the whole page (aligned to <see cref="PageShift"/>).</summary>
    public ulong PageBase;

    /// <summary>12, 21 or 30.</summary>
    public int PageShift;

    public Perms Perms;
    public bool Global;

    /// <summary>The leaf's D bit after the walk.</summary>
    public bool Dirty;

    /// <summary>Memory references the walk made (entries read).</summary>
    public int Refs;

    /// <summary>The walk started from a paging-structure-cache entry.</summary>
    public bool PscHit;

    /// <summary>Guest-physical address of the leaf entry (valid when not faulted).</summary>
    public ulong LeafPteAddr;

    /// <summary>The raw leaf entry.</summary>
    public ulong LeafPte;

    /// <summary>Level of the leaf (1 = 4 KiB PTE, 2 = 2 MiB PDE, 3 = 1 GiB PDPTE).</summary>
    public int LeafLevel;

    /// <summary>Guest-physical base of the 4 KiB frame <paramref name="va"/> falls in.</summary>
    public readonly ulong FrameOf(ulong va) => PageBase + (va & ((1UL << PageShift) - 1) & ~Pte.PageOffsetMask);
}

/// <summary>
/// Called by <see cref="PageWalker"/> before it reads an entry of a guest table, with the table's and the entry's
/// guest-physical addresses and the table's level (the paging level the walk is at: the root's level, e.g. 4, first,
/// then one less per table, 1 for a page table; a walk that starts from a paging-structure-cache entry starts below
/// the root); returning false stops the walk there (the entry is not read and not counted). Under
/// EPT this is where each guest table's gpa is translated (and where an EPT violation stops the walk); a hardware
/// walk asks the memory hierarchy for the entry's line here. Implemented by structs so the walk is specialised per
/// caller, and kept by value so a walk attempt that is undone leaves no trace in the hook's state.
/// </summary>
public interface IGuestTableAccess
{
    bool BeforeRead(ulong tableGpa, ulong entryGpa, int level);
}

/// <summary>Guest tables read by software (the reference walk, a hypervisor's walk of the guest tables): never stops a walk, costs nothing.</summary>
public struct DirectTableAccess : IGuestTableAccess
{
    public readonly bool BeforeRead(ulong tableGpa, ulong entryGpa, int level) => true;
}

/// <summary>
/// Guest tables read by the hardware walker straight from guest memory (native, PV): each entry's line is looked up
/// in the memory hierarchy, and <see cref="Served"/> tallies where it was found.
/// </summary>
public struct CachedTableAccess(MemoryHierarchy caches, int vcpu) : IGuestTableAccess
{
    public WalkServed Served;

    public bool BeforeRead(ulong tableGpa, ulong entryGpa, int level)
    {
        Served.Add(caches.Data(vcpu, entryGpa));
        return true;
    }
}

/// <summary>
/// The x86-64 IA-32e page walk of SPEC §2: 4- or 5-level, 2 MiB and 1 GiB leaves, P/RW/US/NX honoured with
/// EFER.NXE=1, CR0.WP=1, SMEP/SMAP off; sets A in every entry it reads and D in the leaf on a write, only when
/// the walk succeeds. Optionally consults and fills paging-structure caches.
/// </summary>
public static class PageWalker
{
    /// <summary>
    /// Walks <paramref name="va"/> from the table at CR3 <paramref name="cr3"/>. A page fault invalidates the
    /// paging-structure-cache entries for the faulting address (Intel SDM Vol. 3 §4.10.4.1), so every failed
    /// walk drops them; one that started from a cached entry is then retried from the root, as the access
    /// retried after the spurious fault would be, and sees the current tables. So the caches never turn a
    /// change SPEC §1 lets the guest make without an invalidation (a not-present or narrower entry becoming
    /// present or wider) into a fault. The references of both walks are counted.
    /// </summary>
    public static WalkResult Walk(GuestMemory mem, ulong cr3, ulong va, AccessKind kind, bool user, int levels,
        bool setAccessedDirty, PagingStructureCache? psc = null, ushort pcid = 0)
    {
        var direct = default(DirectTableAccess);
        return Walk(mem, cr3, va, kind, user, levels, setAccessedDirty, psc, pcid, ref direct);
    }

    /// <summary>
    /// The same walk with a hook before every entry read (see <see cref="IGuestTableAccess"/>). A stopped walk is
    /// returned at once, without touching the caches; a retry that stops counts as not genuine (its state stays).
    /// When a retry turns out genuine, the hook's state is restored to before it: the retry never happened.
    /// </summary>
    public static WalkResult Walk<TAccess>(GuestMemory mem, ulong cr3, ulong va, AccessKind kind, bool user, int levels,
        bool setAccessedDirty, PagingStructureCache? psc, ushort pcid, ref TAccess tables)
        where TAccess : struct, IGuestTableAccess
    {
        var r = WalkOnce(mem, cr3, va, kind, user, levels, setAccessedDirty, psc, pcid, ref tables);
        if (r.Fault && !r.Stopped && psc is not null)
        {
            psc.InvalidateVa(va, pcid);
            if (r.PscHit)
            {
                // Only a spurious fault (the cached entry was stale) changes the outcome; a genuine one is
                // reported as first taken, and its retry never happened.
                var before = tables;
                var retry = WalkOnce(mem, cr3, va, kind, user, levels, setAccessedDirty, psc, pcid, ref tables);
                if (!retry.Fault || retry.Stopped)
                {
                    retry.Refs += r.Refs;
                    retry.PscHit = true;
                    return retry;
                }

                tables = before;
                psc.InvalidateVa(va, pcid);
            }
        }

        return r;
    }

    private static WalkResult WalkOnce<TAccess>(GuestMemory mem, ulong cr3, ulong va, AccessKind kind, bool user, int levels,
        bool setAccessedDirty, PagingStructureCache? psc, ushort pcid, ref TAccess tables)
        where TAccess : struct, IGuestTableAccess
    {
        var r = default(WalkResult);
        ulong table = cr3 & Pte.AddrMask;
        int level = levels;

        // "acc" carries the permission bits accumulated so far, in PTE encoding: RW and US survive only if
        // every level has them; NX is set if any level has it.
        ulong acc = Pte.Rw | Pte.Us;
        if (psc is not null)
        {
            int hit = psc.Lookup(va, pcid, levels, out ulong cachedTable, out ulong cachedAcc);
            if (hit != 0)
            {
                r.PscHit = true;
                table = cachedTable;
                acc = cachedAcc;
                level = hit - 1;
            }
        }

        // Entries read on this walk whose A bit was clear, so A can be set once the walk is known to succeed (an entry
        // read with A already set needs no update: setting it again changes nothing, and its frame exists). An inline
        // array, not a stackalloc: a method with a localloc is compiled once with full opts and no profile (it cannot
        // use OSR), so its callees (the entry read, the cache lookup, the permission checks) were calls, not inlined.
        var used = default(Levels);
        int nUsed = 0;

        while (true)
        {
            ulong entryAddr = table + ((ulong)Pte.Index(va, level) << Pte.EntryShift);
            if (!tables.BeforeRead(table, entryAddr, level))
            {
                r.Fault = true;
                r.Stopped = true;
                r.StoppedAt = table;
                return r;
            }

            ulong e = mem.ReadWord(entryAddr);
            r.Refs++;
            if ((e & Pte.Accessed) == 0)
            {
                used[nUsed++] = entryAddr;
            }
            if ((e & Pte.Present) == 0)
            {
                r.Fault = true;
                return r;
            }

            acc = (acc & (e | ~(Pte.Rw | Pte.Us))) | (e & Pte.Nx);
            bool leaf = level == 1 || ((e & Pte.Ps) != 0 && level <= 3);
            if ((e & Pte.Ps) != 0 && level >= 4)
            {
                r.Fault = true; // PS is reserved in PML4E/PML5E
                return r;
            }

            if (leaf)
            {
                r.PageShift = Pte.Shift(level);
                r.PageBase = e & Pte.AddrMask & ~((1UL << r.PageShift) - 1);
                r.LeafPteAddr = entryAddr;
                r.LeafPte = e;
                r.LeafLevel = level;
                r.Global = (e & Pte.Global) != 0;
                break;
            }

            table = e & Pte.AddrMask;
            psc?.Insert(va, level, pcid, table, acc);
            level--;
        }

        r.Perms = ToPerms(acc);
        if (!Permits(r.Perms, kind, user))
        {
            r.Fault = true;
            return r;
        }

        bool dirty = (r.LeafPte & Pte.Dirty) != 0;
        if (setAccessedDirty)
        {
            for (int i = 0; i < nUsed; i++)
            {
                mem.SetBits(used[i], Pte.Accessed);
            }

            if (kind == AccessKind.Write && !dirty)
            {
                mem.SetBits(r.LeafPteAddr, Pte.Dirty);
                dirty = true;
            }
        }

        r.Dirty = dirty;
        return r;
    }

    /// <summary>The reference translation for <c>--verify</c>: a fresh walk that changes nothing.</summary>
    public static Translation Reference(GuestMemory mem, ulong cr3, ulong va, AccessKind kind, bool user, int levels)
    {
        var w = Walk(mem, cr3, va, kind, user, levels, setAccessedDirty: false);
        return w.Fault ? Translation.GuestFault : new Translation(w.FrameOf(va), w.Perms, false);
    }

    /// <summary>Entry addresses, one per paging level a walk can read (5-level paging).</summary>
    [System.Runtime.CompilerServices.InlineArray(5)]
    private struct Levels
    {
        private ulong _first;
    }

    /// <summary>Effective permissions from accumulated RW/US/NX bits.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static Perms ToPerms(ulong acc)
    {
        var p = Perms.None;
        if ((acc & Pte.Rw) != 0)
        {
            p |= Perms.Write;
        }

        if ((acc & Pte.Us) != 0)
        {
            p |= Perms.User;
        }

        if ((acc & Pte.Nx) == 0)
        {
            p |= Perms.Exec;
        }

        return p;
    }

    /// <summary>Whether an access of this kind and privilege is allowed by <paramref name="p"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool Permits(Perms p, AccessKind kind, bool user)
    {
        if (user && (p & Perms.User) == 0)
        {
            return false;
        }

        return kind switch
        {
            AccessKind.Write => (p & Perms.Write) != 0,
            AccessKind.Fetch => (p & Perms.Exec) != 0,
            _ => true,
        };
    }
}
