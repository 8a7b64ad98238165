using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Trace;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// Builds small traces by hand: page tables written as <c>ptinit</c> (initial contents) or <c>ptwrite</c>
/// (stores during the trace), accesses, CR3 loads and invalidations. Table frames come from 0x10 upward.
/// </summary>
internal sealed class TestTrace
{
    public const ulong UserRw = Pte.Present | Pte.Rw | Pte.Us;
    public const ulong KernelRwGlobal = Pte.Present | Pte.Rw | Pte.Global;
    private readonly GuestMemory _mirror = new();
    private ulong _nextTable = 0x10;

    public EventBatch Batch { get; } = new(64);

    public int Levels { get; init; } = 4;

    public ulong NewRoot() => _nextTable++;

    /// <summary>Maps va → frame in the hierarchy at <paramref name="root"/>, creating tables; returns how many tables it made.</summary>
    public int Map(ulong root, ulong va, ulong frame, ulong flags = UserRw, bool init = true, int leafLevel = 1)
    {
        int made = 0;
        ulong table = root << 12;
        for (int level = Levels; level > leafLevel; level--)
        {
            ulong entry = table + ((ulong)Pte.Index(va, level) << 3);
            ulong e = _mirror.ReadWord(entry);
            if ((e & Pte.Present) == 0)
            {
                e = (_nextTable++ << 12) | Pte.Present | Pte.Rw | Pte.Us;
                Put(entry, e, init);
                made++;
            }

            table = e & Pte.AddrMask;
        }

        Put(table + ((ulong)Pte.Index(va, leafLevel) << 3), (frame << 12) | flags | (leafLevel > 1 ? Pte.Ps : 0), init);
        return made;
    }

    /// <summary>Writes the leaf entry for an already mapped va (a ptwrite during the trace).</summary>
    public void SetLeaf(ulong root, ulong va, ulong value)
    {
        ulong table = root << 12;
        for (int level = Levels; level > 1; level--)
        {
            table = _mirror.ReadWord(table + ((ulong)Pte.Index(va, level) << 3)) & Pte.AddrMask;
        }

        Put(table + ((ulong)Pte.Index(va, 1) << 3), value, init: false);
    }

    /// <summary>Frame of the level-<paramref name="level"/> table on the path to <paramref name="va"/> (level = Levels: the root).</summary>
    public ulong TableOf(ulong root, ulong va, int level)
    {
        ulong table = root << 12;
        for (int l = Levels; l > level; l--)
        {
            table = _mirror.ReadWord(table + ((ulong)Pte.Index(va, l) << 3)) & Pte.AddrMask;
        }

        return table >> 12;
    }

    /// <summary>Gpa of the level-<paramref name="level"/> entry the walk of <paramref name="va"/> reads.</summary>
    public ulong EntryOf(ulong root, ulong va, int level) =>
        (TableOf(root, va, level) << 12) + ((ulong)Pte.Index(va, level) << 3);

    /// <summary>A raw <c>ptwrite</c> of <paramref name="width"/> bytes at <paramref name="pa"/>, through linear address <paramref name="va"/> (0: unknown).</summary>
    public void PtWrite(ulong pa, ulong value, ulong va = 0, int vcpu = 0, int width = 8, bool user = false)
    {
        _mirror.Store(pa, value, width);
        Batch.Add(TraceOp.PtWrite, va: va, pa: pa, value: value, vcpu: vcpu, user: user, width: width);
    }

    /// <summary>A raw <c>ptinit</c> at <paramref name="pa"/>.</summary>
    public void PtInit(ulong pa, ulong value) => Put(pa, value, init: true);

    /// <summary>A <c>ptdying</c> hint for the hierarchy at <paramref name="root"/>.</summary>
    public void Dying(ulong root, int vcpu = 0) => Batch.Add(TraceOp.PtDying, pa: root << 12, vcpu: vcpu);

    public void Cr3(ulong root, ushort pcid = 0, bool noFlush = false, int vcpu = 0) =>
        Batch.Add(TraceOp.Cr3, value: (root << 12) | pcid | (noFlush ? Pte.Cr3NoFlush : 0), vcpu: vcpu);

    /// <summary>A read; <paramref name="insns"/> is the unlisted work the vCPU retired before it (SPEC §1 <c>insns</c>).</summary>
    public void Read(ulong va, bool user = true, int vcpu = 0, uint insns = 0) => Batch.Add(TraceOp.Read, va: va, user: user, vcpu: vcpu, insns: insns);

    public void Write(ulong va, bool user = true, int vcpu = 0) => Batch.Add(TraceOp.Write, va: va, user: user, vcpu: vcpu);

    public void Fetch(ulong va, bool user = true, int vcpu = 0) => Batch.Add(TraceOp.Fetch, va: va, user: user, vcpu: vcpu);

    public void Invlpg(ulong va, int vcpu = 0) => Batch.Add(TraceOp.Invlpg, va: va, vcpu: vcpu);

    public void Flush(bool all, int vcpu = 0) => Batch.Add(TraceOp.Flush, value: all ? 1UL : 0UL, vcpu: vcpu);

    /// <summary>Replays the whole trace through <paramref name="engine"/> with the reference check on.</summary>
    public T Run<T>(T engine)
        where T : IMmuEngine
    {
        engine.Run(Batch, 0, Batch.Count, verify: true);
        return engine;
    }

    private void Put(ulong pa, ulong value, bool init)
    {
        _mirror.WriteWord(pa, value);
        Batch.Add(init ? TraceOp.PtInit : TraceOp.PtWrite, pa: pa, value: value);
    }
}

/// <summary>Reads an engine's exit counts by handler name.</summary>
internal static class EngineAssert
{
    public static long Count(this IMmuEngine e, string handler) => e.Stats.ExitCounts[Index(e, handler)];

    public static long Units(this IMmuEngine e, string handler) => e.Stats.ExitUnits[Index(e, handler)];

    /// <summary>Handler work done inside other exits (reason WITHIN_EXIT): how often, and its units.</summary>
    public static long WithinCount(this IMmuEngine e, string handler) => e.Stats.ExitCounts[WithinIndex(e, handler)];

    public static long WithinUnits(this IMmuEngine e, string handler) => e.Stats.ExitUnits[WithinIndex(e, handler)];

    public static long Counter(this IMmuEngine e, string name) => e.Stats.Counters[e.CounterNames.ToList().IndexOf(name)];

    private static int WithinIndex(IMmuEngine e, string handler)
    {
        int i = e.ExitKinds.ToList().FindIndex(k => k.Handler == handler && k.Reason == ExitReason.WithinExit);
        Assert.True(i >= 0, $"engine has no work {handler} within exits");
        return i;
    }

    private static int Index(IMmuEngine e, string handler)
    {
        int i = e.ExitKinds.ToList().FindIndex(k => k.Handler == handler);
        Assert.True(i >= 0, $"engine has no handler {handler}");
        return i;
    }
}
