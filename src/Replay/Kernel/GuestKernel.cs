using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Kernel;

/// <summary>
/// A Linux-like guest kernel that turns process-level operations (run, access, fork, exec, munmap, exit)
/// into the MMU events a real x86-64 guest would produce, so every trace it writes is well formed (SPEC §1):
/// every page-table store is a <c>ptwrite</c>; a guest fault is an access whose walk fails, then the kernel's
/// <c>ptwrite</c>s, then the retried access; every removed or narrowed translation is invalidated on every vCPU
/// in the address space's cpumask before that vCPU can use it again; the global kernel half never changes.
/// It keeps its own copy of page-table memory to know what is mapped.
/// </summary>
/// <remarks>
/// Invariants: each process has its own user half (indices 0–255 of the root) over a shared kernel half copied
/// from <c>init_mm</c>; a frame is referenced by exactly (1 + extra) leaves; page tables are freed only at
/// teardown, after every leaf below them is zero; roots are reused only as roots.
/// </remarks>
public sealed partial class GuestKernel
{
    /// <summary>Linux's <c>tlb_single_page_flush_ceiling</c>: past this many pages, flush instead of INVLPG.</summary>
    public const int FlushCeiling = 33;

    /// <summary>Base of the kernel's direct map of physical memory (2 MiB pages; global unless KPTI).</summary>
    public const ulong KernelBase = 0xFFFF_8880_0000_0000UL;

    /// <summary>The KPTI entry trampoline (<c>cpu_entry_area</c>), mapped global in every root.</summary>
    public const ulong EntryArea = 0xFFFF_FE00_0000_0000UL;

    /// <summary>User addresses are below this (47 bits; the lower half of a 4-level space).</summary>
    public const ulong UserTop = 0x0000_8000_0000_0000UL;

    /// <summary>Frames below this (8 MiB) hold the kernel image and are never allocated.</summary>
    public const ulong KernelImageFrames = 0x800;

    /// <summary>Ignored PTE bit the kernel uses to mark a private writable page write-protected for COW.</summary>
    public const ulong SoftCow = 1UL << 9;

    public const ulong DataFlags = Pte.Present | Pte.Rw | Pte.Us | Pte.Nx | Pte.Accessed;
    public const ulong CodeFlags = Pte.Present | Pte.Us | Pte.Accessed;
    public const ulong TableFlags = Pte.Present | Pte.Rw | Pte.Us | Pte.Accessed | Pte.Dirty;

    /// <summary>
    /// A leaf mapping the shared zero page (Linux's <c>PAGE_COPY</c> of a private writable mapping): present, user,
    /// accessed, no-execute, read-only, so the first write takes the copy-on-write path. Linux also sets
    /// <c>_PAGE_SPECIAL</c>, software bit 9, which this model uses for <see cref="SoftCow"/>; the model knows the zero
    /// page by its frame instead, and no engine reads software bits.
    /// </summary>
    public const ulong ZeroFlags = DataFlags & ~Pte.Rw;

    private const ulong Huge = 1UL << Pte.LargePageShift;
    private readonly Action<EventBatch> _sink;
    private readonly EventBatch _batch = new(1 << 16) { HasTime = true };
    private readonly TableMemory _mem;
    private readonly CpuState[] _cpus;

    // Instructions retired on each vCPU and not yet written: the next event there carries them as insns.
    private readonly long[] _pendingInsns;
    private readonly int _levels;
    private readonly bool _kpti;
    private readonly bool _pcid;
    private readonly ulong _userTemplate;
    private readonly Dictionary<ulong, int> _extraRefs = new();

    // Linux's empty_zero_page and huge zero page: allocated at the first read fault that maps one (0: not yet), never freed.
    private ulong _zeroFrame;
    private ulong _hugeZeroHead;
    private readonly Queue<(Process P, ulong Va)> _lru = new();
    private readonly List<Process> _live = [];
    private readonly Dictionary<(int Program, ulong Page), ulong> _pageCache = new();
    private readonly HashSet<ulong> _cacheFrames = [];
    private readonly Dictionary<int, (int Users, List<(ulong Page, ulong Frame)> Pages)> _programs = new();
    private long _time;
    private long _nextContext = 1;
    private int _nextId;

    /// <summary>Boots the kernel: builds the kernel half (as <c>ptinit</c>); each vCPU idles in <c>init_mm</c>.</summary>
    /// <param name="options">Machine and kernel configuration (validated).</param>
    /// <param name="sink">Receives each full batch of events (and the last partial one at <see cref="Complete"/>);
    /// the batch is reused afterwards, so the sink must consume it before returning.</param>
    public GuestKernel(KernelOptions options, Action<EventBatch> sink)
    {
        options.Validate();
        Options = options;
        _sink = sink;
        _pendingInsns = new long[options.Vcpus]; // before the first Emit (the boot ptinits)
        _levels = options.PagingLevels;
        _kpti = options.Kpti;
        _pcid = options.Pcid;
        ulong frames = options.MemoryBytes >> Pte.PageShift;
        _mem = new TableMemory(frames);
        Frames = new FrameAllocator(KernelImageFrames, frames);
        foreach (ulong f in options.FixedRoots)
        {
            Frames.Reserve(f);
        }
        DirectMapBytes = Math.Min(options.MemoryBytes, 1UL << 30);

        ulong idleRoot = AllocRootFrame(0, user: false);
        ulong kernelLeaf = Pte.Present | Pte.Rw | Pte.Ps | Pte.Accessed | Pte.Dirty | (_kpti ? 0 : Pte.Global);
        for (ulong off = 0; off < DirectMapBytes; off += Huge)
        {
            MapInitial(idleRoot, KernelBase + off, off | kernelLeaf);
        }

        ulong entryLeaf = Pte.Present | Pte.Ps | Pte.Global | Pte.Accessed;
        MapInitial(idleRoot, EntryArea, entryLeaf);
        if (_kpti)
        {
            _userTemplate = AllocRootFrame(0, user: true);
            MapInitial(_userTemplate, EntryArea, entryLeaf);
        }

        Idle = new Process(_nextId++, _nextContext++, idleRoot, 0, idle: true, program: 0);
        _cpus = new CpuState[options.Vcpus];
        for (int v = 0; v < _cpus.Length; v++)
        {
            _cpus[v] = new CpuState(Idle); // init_mm's CR3 is loaded when the vCPU first needs a root
        }
    }

    public KernelOptions Options { get; }

    /// <summary>Events emitted so far.</summary>
    public long Events { get; private set; }

    /// <summary>The frame allocator (for invariants: <see cref="FrameAllocator.InUse"/>).</summary>
    public FrameAllocator Frames { get; }

    /// <summary>The kernel's own address space (<c>init_mm</c>), loaded on idle vCPUs.</summary>
    public Process Idle { get; }

    /// <summary>Bytes of physical memory the direct map covers from <see cref="KernelBase"/>.</summary>
    public ulong DirectMapBytes { get; }

    /// <summary>Frames holding program text in the page cache: they outlive the processes that map them, as in Linux.</summary>
    public int PageCacheFrames => _cacheFrames.Count;

    /// <summary>Frames the zero pages hold: 1 for the 4 KiB one and 512 for the huge one, each once it was first mapped.</summary>
    public int ZeroPageFrames => (_zeroFrame != 0 ? 1 : 0) + (_hugeZeroHead != 0 ? Pte.EntriesPerTable : 0);

    /// <summary>User pages reclaimed because free frames ran out.</summary>
    public long Reclaims { get; private set; }

    /// <summary>Processes created and not yet torn down, in creation order.</summary>
    public IReadOnlyList<Process> Live => _live;

    /// <summary>The process current on <paramref name="vcpu"/> (<see cref="Idle"/> when none).</summary>
    public Process CurrentOn(int vcpu) => _cpus[vcpu].Current;

    /// <summary>The frame <paramref name="va"/> maps to in <paramref name="p"/>'s tables, or null if unmapped.</summary>
    public Gfn? FrameOf(Process p, Gva va)
    {
        FindEntry(p.Root, va.Value, out int level, out ulong e);
        if ((e & Pte.Present) == 0)
        {
            return null;
        }

        ulong frame = (e & Pte.AddrMask) >> Pte.PageShift;
        return new Gfn(level == 1 ? frame : frame + (va.PageNumber & ((1UL << (Pte.BitsPerLevel * (level - 1))) - 1)));
    }

    /// <summary>Instructions retired with <see cref="Retire"/> that no event has carried yet, summed over the vCPUs.</summary>
    public long PendingInstructions
    {
        get
        {
            long sum = 0;
            foreach (long n in _pendingInsns)
            {
                sum += n;
            }

            return sum;
        }
    }

    /// <summary>
    /// Records that <paramref name="vcpu"/> retired <paramref name="instructions"/> instructions the trace does not list
    /// as events (non-memory work, instruction fetches not written as <c>fetch</c> rows). They accumulate on the vCPU
    /// and are written as SPEC §1 <c>insns</c> on the next event emitted on that vCPU, whatever its op, except
    /// <c>mark</c> (a marker is not the vCPU's work, and the phase it starts should get them with its first real
    /// event). A row holds at most <see cref="uint.MaxValue"/>; more spills over that vCPU's following events, each
    /// taking as much as fits. Instructions still pending when the trace ends are in no row (see
    /// <see cref="PendingInstructions"/>): the column counts work since the previous event, so there is no earlier row
    /// they could honestly go on.
    /// </summary>
    public void Retire(int vcpu, long instructions)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)vcpu, (uint)_pendingInsns.Length, nameof(vcpu));
        ArgumentOutOfRangeException.ThrowIfNegative(instructions);
        _pendingInsns[vcpu] = checked(_pendingInsns[vcpu] + instructions);
    }

    /// <summary>Instructions the kernel's own paths retired (<see cref="KernelOptions.Costs"/>): part of the trace's <c>insns</c>.</summary>
    public long KernelInstructions { get; private set; }

    /// <summary>Retires <paramref name="instructions"/> of the kernel's own work (a path of <see cref="KernelOptions.Costs"/>).</summary>
    private void RetireKernel(int vcpu, long instructions)
    {
        KernelInstructions += instructions;
        Retire(vcpu, instructions);
    }

    /// <summary>A phase marker (SPEC §1 <c>mark</c>).</summary>
    public void Mark(ulong id) => Emit(TraceOp.Mark, 0, 0, id, 0, false);

    /// <summary>
    /// Hands the last partial batch to the sink. Instructions retired since a vCPU's last event stay pending (an event
    /// may still follow: Complete may be called more than once); those of a finished trace are in
    /// <see cref="PendingInstructions"/>, not in the trace.
    /// </summary>
    public void Complete()
    {
        if (_batch.Count > 0)
        {
            _sink(_batch);
            _batch.FirstRow += _batch.Count;
            _batch.Count = 0;
        }
    }

    private void Emit(TraceOp op, ulong va, ulong pa, ulong value, int vcpu, bool user)
    {
        var b = _batch;
        int i = b.Count;
        b.Op[i] = (byte)op;
        b.Vcpu[i] = (ushort)vcpu;
        b.Va[i] = va;
        b.Pa[i] = pa;
        b.Value[i] = value;
        b.User[i] = user;
        b.Width[i] = 8;
        b.Time[i] = _time;
        long pending = _pendingInsns[vcpu];
        b.Insns[i] = pending == 0 || op == TraceOp.Mark ? 0 : TakeInsns(vcpu, pending);
        _time += 10;
        Events++;
        b.Count = i + 1;
        if (b.Count == b.Capacity)
        {
            _sink(b);
            b.FirstRow += b.Count;
            b.Count = 0;
        }
    }

    /// <summary>The pending instructions of <paramref name="vcpu"/> that fit one row; the rest waits for its next event.</summary>
    private uint TakeInsns(int vcpu, long pending)
    {
        uint take = (uint)Math.Min(pending, uint.MaxValue);
        _pendingInsns[vcpu] = pending - take;
        return take;
    }

    /// <summary>A page-table store: mirrored, then emitted as a <c>ptwrite</c> on <paramref name="vcpu"/>.</summary>
    private void Put(int vcpu, ulong pa, ulong value)
    {
        _mem.Get(pa >> Pte.PageShift)[(pa >> Pte.EntryShift) & Pte.IndexMask] = value;
        Emit(TraceOp.PtWrite, 0, pa, value, vcpu, false);
    }

    /// <summary>
    /// Walks the mirror for <paramref name="va"/> from <paramref name="root"/>: returns the address of the entry
    /// where the walk stopped (a leaf, or the first non-present entry), its level and its value.
    /// </summary>
    private ulong FindEntry(ulong root, ulong va, out int level, out ulong entry)
    {
        ulong table = root;
        for (level = _levels; ; level--)
        {
            int idx = Pte.Index(va, level);
            entry = _mem.Find(table) is { } w ? w[idx] : 0;
            ulong pa = (table << Pte.PageShift) | ((ulong)idx << Pte.EntryShift);
            if (level == 1 || (entry & Pte.Present) == 0 || (entry & Pte.Ps) != 0)
            {
                return pa;
            }

            table = (entry & Pte.AddrMask) >> Pte.PageShift;
        }
    }

    /// <summary>Boot-time mapping of one 2 MiB page into <paramref name="root"/>, as <c>ptinit</c>s.</summary>
    private void MapInitial(ulong root, ulong va, ulong leaf)
    {
        ulong table = root;
        for (int level = _levels; level > 2; level--)
        {
            ulong pa = (table << Pte.PageShift) | ((ulong)Pte.Index(va, level) << Pte.EntryShift);
            ulong e = _mem.Read(pa);
            if ((e & Pte.Present) == 0)
            {
                ulong t = AllocFrame(0);
                e = (t << Pte.PageShift) | Pte.Present | Pte.Rw;
                Init(pa, e);
            }

            table = (e & Pte.AddrMask) >> Pte.PageShift;
        }

        Init((table << Pte.PageShift) | ((ulong)Pte.Index(va, 2) << Pte.EntryShift), leaf);
    }

    private void Init(ulong pa, ulong value)
    {
        _mem.Get(pa >> Pte.PageShift)[(pa >> Pte.EntryShift) & Pte.IndexMask] = value;
        Emit(TraceOp.PtInit, 0, pa, value, 0, false);
    }
}
