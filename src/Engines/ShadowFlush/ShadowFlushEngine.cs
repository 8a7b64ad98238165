using Replay.Engines.Caches;
using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;

namespace Replay.Engines.ShadowFlush;

/// <summary>
/// Flush-on-switch shadow paging, a "virtual TLB" (SPEC §3 <c>shadow-flush</c>): per vCPU a shadow table that
/// caches guest translations for the current CR3, filled on demand by hidden page faults and thrown away at
/// every CR3 load. Guest tables are not write-protected; coherence comes from the guest's own INVLPG, flush
/// and CR3 loads, each of which exits. The hardware walks the shadow (4 KiB leaves only) and tags its TLB
/// entries by VPID alone, so emptying the shadow also flushes the vCPU's TLB.
/// </summary>
[GenerateHooks]
public sealed partial class ShadowFlushEngine : IMmuEngine
{
    /// <summary>The engine's declarations; a class of their own, so they are complete before the descriptor reads them.</summary>
    private static class Declared
    {
        public static readonly OptionList Options = new();
        public static readonly BoolOption KeepGlobal = Options.Bool("keep_global", false, "Keep shadow entries of global guest pages across CR3 loads and flush 0.");
        public static readonly IntOption Prefetch = Options.Int("prefetch", "0", "Following present, accessed guest entries filled with each hidden fault (same shadow L1 page).", max: Pte.EntriesPerTable - 1);

        public static readonly ExitKindList Kinds = new();
        public static readonly ExitHandle Cr3Flush = Kinds.Add(ExitReason.CrAccess, "cr3_flush");
        public static readonly ExitHandle FlushAll = Kinds.Add(ExitReason.CrAccess, "flush_all");
        public static readonly ExitHandle InvlpgExit = Kinds.Add(ExitReason.Invlpg, "invlpg");
        public static readonly ExitHandle ShadowFill = Kinds.Add(ExitReason.ExceptionNmi, "shadow_fill");
        public static readonly ExitHandle GuestPfReflect = Kinds.Add(ExitReason.ExceptionNmi, "guest_pf_reflect");

        public static readonly CounterList Counters = new();
        public static readonly CounterHandle CShadowFault = Counters.Add("shadow_fault");
        public static readonly CounterHandle CFixed = Counters.Add("shadow_fault_fixed");
        public static readonly CounterHandle CDirty = Counters.Add("dirty_faults");
        public static readonly CounterHandle CPrefetch = Counters.Add("prefetched");
        public static readonly CounterHandle CRewalk = Counters.Add("tlb_permission_rewalks");
        public static readonly CounterHandle CDropped = Counters.Add("shadow_entries_dropped");
    }

    public static readonly EngineDescriptor Descriptor = new(
        "shadow-flush",
        "Shadow paging that discards the vCPU's shadow at every guest CR3 load (a virtual TLB).",
        Declared.Options.All,
        (config, o) => new ShadowFlushEngine(config, Declared.KeepGlobal.Of(o), Declared.Prefetch.Of(o)))
    {
        ExitKinds = Declared.Kinds.All,
    };

    private readonly VirtualTlb[] _shadows;
    private readonly bool _keepGlobal;
    private readonly int _prefetch;

    public ShadowFlushEngine(MachineConfig config, bool keepGlobal = false, int prefetch = 0)
    {
        Machine = new GuestMachine(config);
        Stats = new EngineStats(ExitKinds.Count, CounterNames.Count);
        _shadows = Machine.Vcpus.Select(_ => new VirtualTlb(config.PagingLevels)).ToArray();
        _keepGlobal = keepGlobal;
        _prefetch = prefetch;
    }

    public IReadOnlyList<ExitKind> ExitKinds => Declared.Kinds.All;

    public IReadOnlyList<string> CounterNames => Declared.Counters.All;

    public EngineStats Stats { get; }

    public void Run(Trace.EventBatch batch, int start, int end, bool verify) => ReplayLoop.Run(new Hooks(this), batch, start, end, verify, Machine.Config.Tlb.Vpid ? null : Stats);

    public GuestMachine Machine { get; }

    public Translation Access(in MemoryAccess access)
    {
        var a = access;
        var v = Machine.Vcpus[a.Vcpu];
        var sh = _shadows[a.Vcpu];
        if (v.Tlb.Lookup(a.Va, 0, a.Kind, out var hit))
        {
            if (PageWalker.Permits(hit.HwPerms, a.Kind, a.User))
            {
                return new Translation(hit.Frame, hit.GuestPerms, false);
            }

            v.Tlb.InvalidatePage(a.Va, 0);
            Stats.Count(Declared.CRewalk);
        }

        Stats.TlbMisses++;
        EnsureRoot(sh);
        ulong vpn = VirtualTlb.Vpn(a.Va);
        if (HardwareWalk(v, sh, a.Va) && sh.Leaves.TryGetValue(vpn, out var leaf) && Permits(leaf, a.Kind, a.User))
        {
            return Fill(v, a, leaf);
        }

        // Hidden page fault: exit, walk the guest tables in software.
        Stats.Count(Declared.CShadowFault);
        var w = PageWalker.Walk(Machine.Memory, v.Cr3, a.Va, a.Kind, a.User, Machine.Levels, setAccessedDirty: true);
        if (w.Fault)
        {
            Stats.Exit(Declared.GuestPfReflect);
            Stats.GuestFaults++;
            return Translation.GuestFault;
        }

        bool existed = sh.Leaves.ContainsKey(vpn);
        if (existed && a.Kind == AccessKind.Write)
        {
            Stats.Count(Declared.CDirty);
        }

        int created = sh.EnsurePath(a.Va);
        leaf = MakeLeaf(w, a.Va);
        sh.Leaves[vpn] = leaf;
        if (_prefetch > 0)
        {
            Prefetch(sh, v.Cr3, a.Va);
        }

        Stats.Count(Declared.CFixed);
        Stats.Exit(Declared.ShadowFill, created);
        Stats.ShadowPagesCreated += created;
        UpdatePages();

        // The access restarts and the hardware walks the now-filled shadow.
        HardwareWalk(v, sh, a.Va);
        return Fill(v, a, leaf);
    }

    public void LoadCr3(in Cr3Load load)
    {
        var v = Machine.Vcpus[load.Vcpu];
        v.Cr3 = load.Value & Pte.AddrMask;
        DropShadow(load.Vcpu, Declared.Cr3Flush, _keepGlobal);
    }

    public void WritePageTable(in PageTableWrite write) => Machine.Memory.Store(write.Pa, write.Value, write.Width);

    public void Invalidate(in Invalidation inv)
    {
        switch (inv.Kind)
        {
            case InvalidationKind.NonGlobal:
                DropShadow(inv.Vcpu, Declared.Cr3Flush, _keepGlobal);
                break;
            case InvalidationKind.All:
                DropShadow(inv.Vcpu, Declared.FlushAll, keepGlobal: false);
                break;
            default:
                Stats.Exit(Declared.InvlpgExit, DropPage(inv.Vcpu, inv.Va));
                break;
        }
    }

    public void TableDying(in TableDying hint)
    {
        // The shadow is discarded at the next CR3 load anyway.
    }

    private static bool Permits(in ShadowLeaf leaf, AccessKind kind, bool user) =>
        PageWalker.Permits(HwPerms(leaf), kind, user);

    private static Perms HwPerms(in ShadowLeaf leaf) => leaf.HwWritable ? leaf.Guest : leaf.Guest & ~Perms.Write;

    private static ShadowLeaf MakeLeaf(in WalkResult w, ulong va) => new()
    {
        Frame = w.FrameOf(va),
        Guest = w.Perms,
        HwWritable = (w.Perms & Perms.Write) != 0 && w.Dirty,
        Global = w.Global,
        GuestPageShift = (byte)w.PageShift,
    };

    private static Translation Fill(VcpuState v, in MemoryAccess a, in ShadowLeaf leaf)
    {
        v.Tlb.Insert(a.Va, 0, a.Kind, Pte.PageShift, leaf.Frame, HwPerms(leaf), leaf.Guest, dirty: true, leaf.Global);
        return new Translation(leaf.Frame, leaf.Guest, false);
    }

    /// <summary>
    /// The hardware walk of the shadow table: one reference per level until a missing shadow page or leaf,
    /// shortened by the paging-structure caches (which cache shadow entries and are flushed with the shadow).
    /// Returns whether the walk reached a present leaf.
    /// </summary>
    private bool HardwareWalk(VcpuState v, VirtualTlb sh, ulong va)
    {
        int level = Machine.Levels;
        int hitLevel = v.Psc.Lookup(va, 0, level, out _, out _);
        if (hitLevel != 0)
        {
            Stats.PscHits++;
            level = hitLevel - 1;
        }

        for (; level >= 1; level--)
        {
            ulong entry = HostAddress.VirtualTlbEntry(v.Id, level, va >> Pte.Shift(level + 1), Pte.Index(va, level));
            WalkServed.Count(Stats, Machine.Caches.Data(v.Id, entry));
            bool present = level == 1 ? sh.Leaves.ContainsKey(VirtualTlb.Vpn(va)) : sh.HasPage(va, level - 1);
            if (!present)
            {
                return false;
            }

            if (level >= 2)
            {
                v.Psc.Insert(va, level, 0, 0, Pte.Rw | Pte.Us);
            }
        }

        return true;
    }

    private void Prefetch(VirtualTlb sh, ulong cr3, ulong va)
    {
        int idx = Pte.Index(va, 1);
        int last = Math.Min(Pte.IndexMask, idx + _prefetch);
        ulong regionBase = va & ~(Pte.LargePageSize - 1);
        for (int i = idx + 1; i <= last; i++)
        {
            ulong nva = regionBase | ((ulong)i << Pte.PageShift);
            ulong nvpn = VirtualTlb.Vpn(nva);
            if (sh.Leaves.ContainsKey(nvpn))
            {
                continue;
            }

            // Like KVM's FNAME(prefetch_invalid_gpte): only entries the guest has already accessed are
            // prefetched, so a prefetch never takes away an A-bit update the guest would see.
            var w = PageWalker.Walk(Machine.Memory, cr3, nva, AccessKind.Read, user: false, Machine.Levels, setAccessedDirty: false);
            if (!w.Fault && (w.LeafPte & Pte.Accessed) != 0)
            {
                sh.Leaves[nvpn] = MakeLeaf(w, nva);
                Stats.Count(Declared.CPrefetch);
            }
        }
    }

    private void DropShadow(int vcpu, ExitHandle exitKind, bool keepGlobal)
    {
        var sh = _shadows[vcpu];
        var v = Machine.Vcpus[vcpu];
        EnsureRoot(sh);
        int dropped = sh.Clear(keepGlobal);
        Stats.Count(Declared.CDropped, dropped);
        Stats.Exit(exitKind, dropped);
        v.Tlb.Flush(null, includeGlobal: !keepGlobal);
        v.Psc.FlushAll();
        UpdatePages();
    }

    /// <summary>INVLPG: drops the va's shadow entry, or every entry splintered from the same guest large page.</summary>
    private int DropPage(int vcpu, ulong va)
    {
        var sh = _shadows[vcpu];
        var v = Machine.Vcpus[vcpu];
        ulong vpn = VirtualTlb.Vpn(va);
        int dropped = 0;
        if (sh.Leaves.TryGetValue(vpn, out var leaf))
        {
            if (leaf.GuestPageShift == Pte.PageShift)
            {
                sh.Leaves.Remove(vpn);
                dropped = 1;
                v.Tlb.InvalidatePage(va, 0);
            }
            else
            {
                ulong first = vpn & ~((1UL << (leaf.GuestPageShift - Pte.PageShift)) - 1);
                ulong count = 1UL << (leaf.GuestPageShift - Pte.PageShift);
                foreach (var k in sh.Leaves.Keys.Where(k => k - first < count).ToList())
                {
                    sh.Leaves.Remove(k);
                    dropped++;
                }

                v.Tlb.Flush(null, includeGlobal: true);
            }
        }
        else
        {
            v.Tlb.InvalidatePage(va, 0);
        }

        v.Psc.FlushAll();
        return dropped;
    }

    private void EnsureRoot(VirtualTlb sh)
    {
        if (!sh.HasRoot)
        {
            sh.HasRoot = true;
            Stats.ShadowPagesCreated++;
            UpdatePages();
        }
    }

    private void UpdatePages()
    {
        long total = 0;
        foreach (var s in _shadows)
        {
            total += s.Pages;
        }

        Stats.SetShadowPages(total);
    }
}
