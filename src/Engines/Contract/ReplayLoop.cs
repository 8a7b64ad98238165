using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Engines.Contract;

/// <summary>The reference check failed: an engine let an access use a translation a fresh walk disagrees with.</summary>
public sealed class VerifyException : Exception
{
    public VerifyException(long eventIndex, Translation engine, Translation reference)
        : base($"--verify failed at event {eventIndex}: the engine used {engine}, but a fresh walk of the guest tables gives {reference}.")
    {
        EventIndex = eventIndex;
        Engine = engine;
        Reference = reference;
    }

    private VerifyException(VerifyException e, string engineName, IReadOnlyList<string> alsoFailed)
        : base($"{engineName}: {e.Message}" + (alsoFailed.Count == 0 ? "" : $" In the same row group {string.Join(", ", alsoFailed)} failed --verify too."), e)
    {
        EventIndex = e.EventIndex;
        Engine = e.Engine;
        Reference = e.Reference;
        EngineName = engineName;
    }

    public long EventIndex { get; }

    public Translation Engine { get; }

    public Translation Reference { get; }

    /// <summary>The engine (its canonical spec) whose translation was wrong, once the driver has named it.</summary>
    public string? EngineName { get; }

    /// <summary>
    /// The same failure, its message starting with the engine that failed (several may replay at once) and ending with
    /// the other engines, <paramref name="alsoFailed"/>, that failed in the same row group.
    /// </summary>
    public VerifyException Named(string engineName, IReadOnlyList<string>? alsoFailed = null) =>
        EngineName is null ? new VerifyException(this, engineName, alsoFailed ?? []) : this;
}

/// <summary>
/// An engine's hooks as a struct, so <see cref="ReplayLoop.Run{THooks}"/> is compiled once per engine with
/// direct, inlinable calls (the JIT specialises generics over value types; over classes it shares one body).
/// Each engine (or part) implements it as a tiny struct forwarding to its own sealed methods, which
/// <see cref="GenerateHooksAttribute"/> writes.
/// </summary>
public interface IEngineHooks
{
    /// <summary>
    /// The engine's own guest machine: guest memory, vCPUs (CR3, PCID, TLB, paging-structure caches) and cache model.
    /// The loop reads it for <c>--verify</c> (a fresh walk of <see cref="GuestMachine.Memory"/> from the vCPU's CR3
    /// must give the translation <see cref="Access"/> returned) and to flush TLBs on exits without VPID.
    /// </summary>
    GuestMachine Machine { get; }

    /// <summary>
    /// A read, write or fetch. Returns the translation the access used: the gpa frame, page size and permissions
    /// the hardware (or, after an exit, the engine) resolved, or <see cref="Translation.GuestFault"/> when the guest
    /// takes a #PF (counted in <see cref="EngineStats.GuestFaults"/>). Invariants: it equals what a fresh walk of the
    /// guest tables gives (the <c>--verify</c> check); a TLB miss adds 1 to <see cref="EngineStats.TlbMisses"/> and
    /// every entry the hardware walker reads to <see cref="EngineStats.WalkRefs"/> (and to exactly one of its
    /// per-level counters); the guest's A/D bits are set as the hardware sets them.
    /// </summary>
    Translation Access(in MemoryAccess access);

    /// <summary>
    /// A MOV to CR3: the vCPU's CR3 (and PCID) change before any later access of that vCPU, and its TLB drops what
    /// the SDM says it drops (all non-global entries of the PCID unless bit 63 keeps them). Shadow engines exit here
    /// (and resync or switch roots); EPT does not.
    /// </summary>
    void LoadCr3(in Cr3Load load);

    /// <summary>
    /// A page-table store (<c>ptwrite</c>) or an initial table word (<c>ptinit</c>, <see cref="PageTableWrite.IsInit"/>).
    /// Invariant: afterwards guest memory holds the new value (every engine's memory evolves the same way apart from
    /// A/D bits). A <c>ptinit</c> costs nothing and takes no exit (the state before recording began); a
    /// <c>ptwrite</c> exits only where the engine write-protects the frame.
    /// </summary>
    void WritePageTable(in PageTableWrite write);

    /// <summary>
    /// An INVLPG or a flush: the hardware drops the translations the kind names from the vCPU's TLB and
    /// paging-structure caches; an engine that intercepts it (shadow paging) also resyncs or drops its own state.
    /// After it no access may use a translation the guest has invalidated.
    /// </summary>
    void Invalidate(in Invalidation inv);

    /// <summary>
    /// A <c>ptdying</c> hint: the address space rooted at <see cref="TableDying.Pa"/> is being torn down (Xen's
    /// <c>HVMOP_pagetable_dying</c>). Only a hint: an engine may drop shadows early or ignore it; translations must
    /// stay correct either way.
    /// </summary>
    void TableDying(in TableDying hint);
}

/// <summary>
/// The hot loop: feeds a range of a batch to one engine, one hook per event, in order. Dispatch happens once
/// per call (over the hooks struct), not per event.
/// </summary>
public static class ReplayLoop
{
    // Called a few times per million events: tiering would leave it in tier-0/OSR code for most of a run.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    /// <param name="vmExits">
    /// The engine's stats when its exits are VM exits on a CPU without VPID (first-generation VT-x): then every event
    /// that made an exit flushes the vCPU's TLB and paging-structure caches, as VM entry and exit do without VPID
    /// (Intel SDM Vol. 3C §28.3.3.3). Null when exits leave the TLB alone (VPID, or PV traps into a hypervisor mapped
    /// in every address space).
    /// </param>
    public static void Run<THooks>(THooks engine, EventBatch b, int start, int end, bool verify, EngineStats? vmExits = null)
        where THooks : struct, IEngineHooks
    {
        var op = b.Op;
        var vcpu = b.Vcpu;
        var va = b.Va;
        var pa = b.Pa;
        var value = b.Value;
        var user = b.User;
        var width = b.Width;
        long first = b.FirstRow;
        var caches = engine.Machine.Caches;
        var pressure = engine.Machine.Pressure;
        var insns = b.Insns;
        for (int i = start; i < end; i++)
        {
            long exitsBefore = vmExits?.Exits ?? 0;
            if (pressure is not null && insns[i] != 0)
            {
                pressure.Retired(vcpu[i], insns[i]);
            }

            switch (op[i])
            {
                case (byte)TraceOp.Read:
                case (byte)TraceOp.Write:
                case (byte)TraceOp.Fetch:
                    var access = new MemoryAccess(first + i, vcpu[i], va[i], (AccessKind)op[i], user[i]);
                    var t = engine.Access(access);
                    if (verify)
                    {
                        Verify(engine.Machine, access, t);
                    }

                    if (!t.Fault)
                    {
                        // The access brings its line into the caches, where it competes with page-table lines.
                        ulong address = t.Page.Value | (va[i] & Pte.PageOffsetMask);
                        _ = op[i] == (byte)AccessKind.Fetch ? caches.Instruction(vcpu[i], address) : caches.Data(vcpu[i], address);
                    }

                    break;
                case (byte)TraceOp.Cr3:
                    engine.LoadCr3(new Cr3Load(first + i, vcpu[i], value[i]));
                    break;
                case (byte)TraceOp.PtWrite:
                case (byte)TraceOp.PtInit:
                    engine.WritePageTable(new PageTableWrite(first + i, vcpu[i], pa[i], value[i], va[i], width[i], user[i], op[i] == (byte)TraceOp.PtInit));
                    break;
                case (byte)TraceOp.Invlpg:
                    engine.Invalidate(new Invalidation(first + i, vcpu[i], va[i], InvalidationKind.Page));
                    break;
                case (byte)TraceOp.Flush:
                    engine.Invalidate(new Invalidation(first + i, vcpu[i], va[i], value[i] == 0 ? InvalidationKind.NonGlobal : InvalidationKind.All));
                    break;
                case (byte)TraceOp.PtDying:
                    engine.TableDying(new TableDying(first + i, vcpu[i], pa[i]));
                    break;
                default:
                    break; // mark: phases are the driver's business
            }

            if (vmExits is not null && vmExits.Exits != exitsBefore)
            {
                var v = engine.Machine.Vcpus[vcpu[i]];
                v.Tlb.Flush(null, includeGlobal: true);
                v.Psc.FlushAll();
            }
        }
    }

    private static void Verify(GuestMachine m, in MemoryAccess a, Translation used)
    {
        var reference = PageWalker.Reference(m.Memory, m.Vcpus[a.Vcpu].Cr3, a.Va, a.Kind, a.User, m.Levels);
        if (used != reference)
        {
            throw new VerifyException(a.Index, used, reference);
        }
    }
}
