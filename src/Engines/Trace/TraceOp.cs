namespace Replay.Engines.Trace;

/// <summary>Event kinds of trace format v1 (SPEC §1). The numeric values are the on-disk <c>op</c> codes.</summary>
public enum TraceOp : byte
{
    Read = 0,
    Write = 1,
    Fetch = 2,
    Cr3 = 3,
    PtWrite = 4,
    Invlpg = 5,
    Flush = 6,
    PtInit = 7,
    Mark = 8,
    PtDying = 9,
}

/// <summary>Helpers over <see cref="TraceOp"/>.</summary>
public static class TraceOps
{
    /// <summary>The largest valid op code.</summary>
    public const byte MaxOp = 9;

    /// <summary>Lower-case names as SPEC §1 spells them, indexed by op code.</summary>
    public static readonly string[] Names =
        ["read", "write", "fetch", "cr3", "ptwrite", "invlpg", "flush", "ptinit", "mark", "ptdying"];

    /// <summary>True when the op needs <c>va</c>.</summary>
    public static bool NeedsVa(byte op) => op is <= (byte)TraceOp.Fetch or (byte)TraceOp.Invlpg;

    /// <summary>True when the op needs <c>pa</c>.</summary>
    public static bool NeedsPa(byte op) => op is (byte)TraceOp.PtWrite or (byte)TraceOp.PtInit or (byte)TraceOp.PtDying;

    /// <summary>True when the op needs <c>value</c>.</summary>
    public static bool NeedsValue(byte op) =>
        op is (byte)TraceOp.Cr3 or (byte)TraceOp.PtWrite or (byte)TraceOp.Flush or (byte)TraceOp.PtInit or (byte)TraceOp.Mark;
}
