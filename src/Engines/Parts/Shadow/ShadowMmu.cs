using Replay.Engines.Caches;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// Cached multi-shadow paging as a part, with two personalities, Xen's shadow code and KVM's shadow MMU (REFERENCES
/// §1–§3): what <c>shadow-cached</c> is, and what <c>hybrid</c> runs in shadow mode. Shadow pages are kept per (guest
/// frame, type) in one domain-wide store and survive CR3 switches; every guest frame with a shadow is
/// write-protected, so guest writes to it exit and are emulated (or, for a leaf table, let out of sync). The hardware
/// walks the shadow of the vCPU's current root: TLB misses are 1-D walks of shadow entries, cached by the
/// paging-structure caches.
/// <para>
/// This class holds what the parts share (the machine, the stats they count into, the options, the
/// <see cref="ShadowStore"/> with its reverse map, the per-vCPU state), write protection, the access path and the
/// hardware walk. The parts: <see cref="ShadowFaults"/> (hidden faults, fill and prefetch), <see cref="PtEmulation"/>
/// (emulated page-table writes), <see cref="OutOfSync"/> (OOS and unsync pages), <see cref="ShadowRoots"/> (CR3,
/// invalidations, roots), <see cref="ShadowPool"/> (allocation, eviction, unshadowing and zapping).
/// </para>
/// <para>
/// It counts into the caller's stats: its exit kinds (<see cref="ShadowKinds.Kinds"/>) from index <c>exitBase</c>, its
/// counters (<see cref="CounterNamesFor"/> of the personality) from <c>counterBase</c>. With <c>pcidHidden</c> (Xen
/// on a PCID trace) the machine must already run without PCID.
/// </para>
/// </summary>
[GenerateHooks]
internal sealed partial class ShadowMmu : IEngineHooks
{
    private readonly int[] _counterIndex;
    private readonly int _k;
    private readonly int _c;
    private readonly long _pagesBase;
    private readonly int _rewalks;
    private readonly VcpuShadow[] _v;
    private readonly ShadowStore _store = new();

    public ShadowMmu(GuestMachine machine, ShadowOptions options, EngineStats stats, int exitBase, int counterBase, long pagesBase, bool pcidHidden)
    {
        Options = options;
        Xen = options.Personality == Personality.Xen;
        PcidHidden = pcidHidden;
        Machine = machine;
        Stats = stats;
        _k = exitBase;
        _c = counterBase;
        _pagesBase = pagesBase;
        (CounterNames, _counterIndex) = ShadowCounters.For(options.Personality);
        _rewalks = _counterIndex[(int)Cnt.Rewalks];
        _v = machine.Vcpus.Select(_ => new VcpuShadow(options.Roots)).ToArray();
        Top = (ShadowType)machine.Levels;
        Pool = new ShadowPool(this);
        Oos = new OutOfSync(this);
        Faults = new ShadowFaults(this);
        Emulation = new PtEmulation(this);
        Roots = new ShadowRoots(this);
    }

    /// <summary>The counter names of personality <paramref name="p"/>, in stats order.</summary>
    public static IReadOnlyList<string> CounterNamesFor(Personality p) => ShadowCounters.For(p).Names;

    /// <summary>Whether a trace of <paramref name="config"/> replays with PCID hidden (Xen offers PCID only to HAP guests).</summary>
    public static bool HidesPcid(MachineConfig config, ShadowOptions options) => options.Personality == Personality.Xen && config.Pcid;

    /// <summary>The machine the guest runs on under <paramref name="options"/>; throws for a guest the personality never runs.</summary>
    public static MachineConfig MachineFor(MachineConfig config, ShadowOptions options)
    {
        if (ShadowOptions.CannotReplay(options.Personality, config) is { } why)
        {
            throw new EngineCannotReplayException(why);
        }

        return HidesPcid(config, options) ? config with { Pcid = false } : config;
    }

    public ShadowOptions Options { get; }

    /// <summary>Xen's personality (else KVM's).</summary>
    public bool Xen { get; }

    /// <summary>Xen on a PCID trace: the guest runs without PCID, as Xen presents a shadow-mode guest.</summary>
    public bool PcidHidden { get; }

    public GuestMachine Machine { get; }

    public EngineStats Stats { get; }

    public string[] CounterNames { get; }

    public ShadowStore Store => _store;

    /// <summary>Per-vCPU shadow state.</summary>
    public VcpuShadow[] Vcpus => _v;

    /// <summary>The type of a top-level shadow (one per guest paging level).</summary>
    public ShadowType Top { get; }

    public int Levels => Machine.Levels;

    /// <summary>Xen: the domain has made a pagetable_dying call (<c>pagetable_dying_op</c>).</summary>
    public bool DyingOp { get; set; }

    public ShadowPool Pool { get; }

    public OutOfSync Oos { get; }

    public ShadowFaults Faults { get; }

    public PtEmulation Emulation { get; }

    public ShadowRoots Roots { get; }

    /// <summary>Shadow pages live in the store.</summary>
    public long LivePages => _store.Live;

    /// <summary>
    /// Builds (or finds) the top-level shadow of <paramref name="vcpu"/>'s loaded guest root and makes it current, as
    /// <c>sh_update_cr3</c> does when a paging mode is entered (Xen pins it); returns the shadow pages built.
    /// </summary>
    public int AdoptRoot(int vcpu) => Roots.Adopt(vcpu);

    public Translation Access(in MemoryAccess access)
    {
        var a = access;
        var v = Machine.Vcpus[a.Vcpu];
        if (v.Tlb.Lookup(a.Va, v.Pcid, a.Kind, out var hit))
        {
            if (PageWalker.Permits(hit.HwPerms, a.Kind, a.User))
            {
                return new Translation(hit.Frame, hit.GuestPerms, false);
            }

            v.Tlb.InvalidatePage(a.Va, v.Pcid);
            Stats.Counters[_c + _rewalks]++;
        }

        Stats.TlbMisses++;
        var root = Roots.CurrentRoot(a.Vcpu);
        var hw = HardwareWalk(v, root, a.Va);
        if (hw.Present && PageWalker.Permits(hw.HwPerms, a.Kind, a.User))
        {
            return Insert(v, a, hw);
        }

        return Faults.HiddenFault(a, v, hw);
    }

    public void LoadCr3(in Cr3Load load) => Roots.LoadCr3(load);

    public void WritePageTable(in PageTableWrite write) => Emulation.WritePageTable(write);

    public void Invalidate(in Invalidation inv) => Roots.Invalidate(inv);

    public void TableDying(in TableDying hint)
    {
        if (Xen)
        {
            Roots.XenPagetableDying(hint);
        }
    }

    /// <summary>Counts <paramref name="n"/> into the personality's counter for <paramref name="c"/>, if it has one.</summary>
    public void Count(Cnt c, long n = 1)
    {
        int i = _counterIndex[(int)c];
        if (i >= 0)
        {
            Stats.Counters[_c + i] += n;
        }
    }

    /// <summary>Records one exit of kind <paramref name="kind"/> (see <see cref="EngineStats.Exit"/>).</summary>
    public void Exit(ExitHandle kind, long units = 0) => Stats.Exit(kind.At(_k), units);

    /// <summary>Records work of kind <paramref name="kind"/> inside another exit (see <see cref="EngineStats.Within"/>).</summary>
    public void Within(ExitHandle kind, long units = 0) => Stats.Within(kind.At(_k), units);

    public static Translation Insert(VcpuState v, in MemoryAccess a, in ShadowWalk hw)
    {
        v.Tlb.Insert(a.Va, v.Pcid, a.Kind, hw.PageShift, hw.PageBase, hw.HwPerms, hw.Perms, dirty: true, hw.Global);
        return new Translation(hw.Frame, hw.Perms, false);
    }

    /// <summary>
    /// The hardware walk of the shadow rooted at <paramref name="root"/>: one reference per level until a
    /// not-present entry or the leaf (a level-1 entry, or a KVM huge spte), permissions accumulated as the
    /// processor does; the paging-structure caches hold shadow upper entries (the child page's id stands for its
    /// address).
    /// </summary>
    public ShadowWalk HardwareWalk(VcpuState v, ShadowPage root, ulong va)
    {
        var r = default(ShadowWalk);
        var page = root;
        int level = Levels;
        ulong acc = Pte.Rw | Pte.Us;
        int hitLevel = v.Psc.Lookup(va, v.Pcid, level, out ulong cached, out ulong cachedAcc);
        if (hitLevel != 0)
        {
            Stats.PscHits++;
            page = _store.Page((int)cached);
            acc = cachedAcc;
            level = hitLevel - 1;
        }

        var caches = Machine.Caches;
        var stats = Stats;
        while (true)
        {
            int index = Pte.Index(va, level);
            WalkServed.Count(stats, caches.Data(v.Id, HostAddress.ShadowEntry(page.Id, index)));

            // A shadow page holds EntriesPerTable entries and the index is masked to them: read without a bounds check.
            ulong e = System.Runtime.CompilerServices.Unsafe.Add(
                ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(page.E), index);
            if ((e & SEntry.Present) == 0)
            {
                r.Missed = page;
                r.MissedLevel = level;
                r.MissedEntry = e;
                return r;
            }

            acc = (acc & (e | ~(Pte.Rw | Pte.Us))) | (e & Pte.Nx);
            if (level == 1 || (e & SEntry.Large) != 0)
            {
                r.Present = true;
                r.PageShift = Pte.Shift(level);
                r.PageBase = e & Pte.AddrMask;
                r.Frame = r.PageBase + (va & ((1UL << r.PageShift) - 1) & ~Pte.PageOffsetMask);
                r.Perms = PageWalker.ToPerms(acc);
                r.HwPerms = (e & SEntry.HwWrite) != 0 ? r.Perms : r.Perms & ~Perms.Write;
                r.Global = (e & Pte.Global) != 0;
                r.Missed = page;
                return r;
            }

            var child = _store.Page(SEntry.Child(e));
            v.Psc.Insert(va, level, v.Pcid, (ulong)child.Id, acc);
            page = child;
            level--;
        }
    }

    /// <summary>
    /// A frame gets its first shadow: remove every writable shadow mapping of it through the store's reverse map (Xen
    /// <c>sh_remove_write_access</c>, KVM <c>kvm_mmu_slot_gfn_write_protect</c>) and flush if one was found.
    /// </summary>
    public void WriteProtect(ulong gfn)
    {
        int removed = _store.RemoveWriteAccess(gfn);
        if (removed > 0)
        {
            Count(Cnt.Writeable, removed);
            FlushEverywhere();
        }
    }

    /// <summary>Drops every vCPU's TLB and paging-structure caches (the remote flush after a shadow change).</summary>
    public void FlushEverywhere() => FlushEverywhere(Machine);

    /// <summary>Drops every vCPU's TLB and paging-structure caches of <paramref name="machine"/>.</summary>
    public static void FlushEverywhere(GuestMachine machine)
    {
        foreach (var v in machine.Vcpus)
        {
            v.Tlb.Flush(null, includeGlobal: true);
            v.Psc.FlushAll();
        }
    }

    /// <summary>Reports the shadow pages live (on top of what another part of a composed engine holds).</summary>
    public void UpdatePages() => Stats.SetShadowPages(_pagesBase + _store.Live);
}

/// <summary>Result of a hardware walk of the shadow.</summary>
internal struct ShadowWalk
{
    public bool Present;

    /// <summary>The 4 KiB frame the va maps to.</summary>
    public ulong Frame;

    /// <summary>The mapping's page (4 KiB, or a KVM huge spte's 2 MiB/1 GiB): base gpa and size, for the TLB.</summary>
    public ulong PageBase;
    public int PageShift;

    public Perms Perms;
    public Perms HwPerms;
    public bool Global;

    /// <summary>The page the walk stopped in (the leaf page when <see cref="Present"/>).</summary>
    public ShadowPage? Missed;
    public int MissedLevel;
    public ulong MissedEntry;
}
