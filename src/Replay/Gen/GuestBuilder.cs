using Replay.Engines.Guest;
using Replay.Engines.Trace;

namespace Replay.Gen;

/// <summary>
/// A minimal guest kernel for synthetic workloads: a frame allocator, per-process 4-level tables sharing a
/// global kernel half, demand paging and unmapping that emit exactly the events a well-formed trace needs
/// (SPEC §1): a faulting access, the kernel's <c>ptwrite</c>s, the retried access; INVLPG (or a flush past
/// Linux's 33-page ceiling) after removing translations. It mirrors guest memory so it knows what is mapped.
/// (The full Linux-like model with fork, exec, PCID, KPTI and THP is its own piece of work.)
/// </summary>
public sealed class GuestBuilder
{
    /// <summary>Linux's <c>tlb_single_page_flush_ceiling</c>: past this many pages, flush instead of INVLPG.</summary>
    public const int FlushCeiling = 33;

    public const ulong UserData = Pte.Present | Pte.Rw | Pte.Us | Pte.Nx;
    public const ulong UserCode = Pte.Present | Pte.Us;
    public const ulong TableEntry = Pte.Present | Pte.Rw | Pte.Us;

    /// <summary>Base va of the kernel's direct map (global 2 MiB pages).</summary>
    public const ulong KernelBase = 0xFFFF_8880_0000_0000UL;

    private readonly Action<EventBatch> _flush;
    private readonly Stack<ulong> _freeFrames = new();
    private ulong _nextFrame = 0x100; // frames below 1 MiB are left alone, as firmware would
    private long _time;

    public GuestBuilder(Action<EventBatch> flush, int vcpus = 1)
    {
        _flush = flush;
        Vcpus = vcpus;
        KernelPdpt = AllocFrame();
    }

    public EventBatch Batch { get; } = new(1 << 16);

    public GuestMemory Memory { get; } = new();

    public int Vcpus { get; }

    /// <summary>Events emitted so far.</summary>
    public long Events { get; private set; }

    /// <summary>The kernel PDPT every process's PML4 points to (shared kernel half).</summary>
    public ulong KernelPdpt { get; }

    public ulong AllocFrame() => _freeFrames.Count > 0 ? _freeFrames.Pop() : _nextFrame++;

    public void FreeFrame(ulong frame) => _freeFrames.Push(frame);

    /// <summary>A new address space whose kernel half is the shared kernel PDPT; written as initial contents or as stores.</summary>
    public ulong NewAddressSpace(bool initial)
    {
        ulong root = AllocFrame();
        int kernelIndex = Pte.Index(KernelBase, 4);
        Put(root * 4096 + (ulong)kernelIndex * 8, (KernelPdpt * 4096) | Pte.Present | Pte.Rw, initial, 0);
        return root;
    }

    /// <summary>Maps the kernel direct map: <paramref name="count"/> global 2 MiB pages at <see cref="KernelBase"/>, as initial contents.</summary>
    public void MapKernel(int count)
    {
        ulong pd = AllocFrame();
        Put(KernelPdpt * 4096 + (ulong)Pte.Index(KernelBase, 3) * 8, (pd * 4096) | Pte.Present | Pte.Rw, true, 0);
        for (int i = 0; i < count; i++)
        {
            ulong frame2m = 0x4000_0000UL + ((ulong)i << 21); // kernel memory from 1 GiB up
            Put(pd * 4096 + (ulong)i * 8, frame2m | Pte.Present | Pte.Rw | Pte.Ps | Pte.Global | Pte.Accessed | Pte.Dirty, true, 0);
        }
    }

    /// <summary>Reads an entry through the mirror.</summary>
    public ulong Entry(ulong pa) => Memory.ReadWord(pa);

    /// <summary>The leaf entry address for va in the hierarchy at root, or 0 if an intermediate table is missing.</summary>
    public ulong LeafAddress(ulong root, ulong va, int leafLevel = 1)
    {
        ulong table = root * 4096;
        for (int level = 4; level > leafLevel; level--)
        {
            ulong e = Memory.ReadWord(table + ((ulong)Pte.Index(va, level) << 3));
            if ((e & Pte.Present) == 0)
            {
                return 0;
            }

            table = e & Pte.AddrMask;
        }

        return table + ((ulong)Pte.Index(va, leafLevel) << 3);
    }

    public bool IsMapped(ulong root, ulong va, int leafLevel = 1)
    {
        ulong a = LeafAddress(root, va, leafLevel);
        return a != 0 && (Memory.ReadWord(a) & Pte.Present) != 0;
    }

    /// <summary>
    /// The kernel's page-fault handler for an unmapped page: intermediate tables as needed (each new table
    /// frame comes from the allocator and is already zero), then the leaf. <paramref name="leafLevel"/> 2 maps
    /// a 2 MiB page.
    /// </summary>
    public void Map(int vcpu, ulong root, ulong va, ulong frame, ulong flags, int leafLevel = 1)
    {
        ulong table = root * 4096;
        for (int level = 4; level > leafLevel; level--)
        {
            ulong entryPa = table + ((ulong)Pte.Index(va, level) << 3);
            ulong e = Memory.ReadWord(entryPa);
            if ((e & Pte.Present) == 0)
            {
                ulong t = AllocFrame();
                e = (t * 4096) | TableEntry;
                Put(entryPa, e, false, vcpu);
            }

            table = e & Pte.AddrMask;
        }

        ulong leaf = (frame * 4096) | flags | (leafLevel > 1 ? Pte.Ps : 0);
        Put(table + ((ulong)Pte.Index(va, leafLevel) << 3), leaf, false, vcpu);
    }

    /// <summary>Clears the leaf for va (a munmap step); returns the frame it mapped, or null.</summary>
    public ulong? Unmap(int vcpu, ulong root, ulong va, int leafLevel = 1)
    {
        ulong a = LeafAddress(root, va, leafLevel);
        if (a == 0)
        {
            return null;
        }

        ulong e = Memory.ReadWord(a);
        if ((e & Pte.Present) == 0)
        {
            return null;
        }

        Put(a, 0, false, vcpu);
        return (e & Pte.AddrMask) >> 12;
    }

    public void Access(int vcpu, ulong va, TraceOp kind, bool user = true) => Emit(kind, va: va, vcpu: vcpu, user: user);

    public void Cr3(int vcpu, ulong root) => Emit(TraceOp.Cr3, value: root * 4096, vcpu: vcpu);

    public void Invlpg(int vcpu, ulong va) => Emit(TraceOp.Invlpg, va: va, vcpu: vcpu);

    public void Flush(int vcpu, bool all = false) => Emit(TraceOp.Flush, value: all ? 1UL : 0UL, vcpu: vcpu);

    public void Mark(ulong id) => Emit(TraceOp.Mark, value: id);

    /// <summary>Emits the remaining events.</summary>
    public void Complete()
    {
        if (Batch.Count > 0)
        {
            _flush(Batch);
            Batch.Count = 0;
        }
    }

    private void Put(ulong pa, ulong value, bool initial, int vcpu)
    {
        Memory.WriteWord(pa, value);
        Emit(initial ? TraceOp.PtInit : TraceOp.PtWrite, pa: pa, value: value, vcpu: vcpu);
    }

    private void Emit(TraceOp op, ulong va = 0, ulong pa = 0, ulong value = 0, int vcpu = 0, bool user = false)
    {
        Batch.Add(op, va, pa, value, vcpu, user, 8, _time);
        _time += 10;
        Events++;
        if (Batch.Count >= Batch.Capacity)
        {
            _flush(Batch);
            Batch.FirstRow += Batch.Count;
            Batch.Count = 0;
        }
    }
}
