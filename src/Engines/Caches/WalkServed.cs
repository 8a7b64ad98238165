using Replay.Engines.Contract;

namespace Replay.Engines.Caches;

/// <summary>A tally of walk references by where they were served, kept by value so an abandoned walk attempt can be undone.</summary>
public struct WalkServed
{
    public int L1;
    public int L2;
    public int L3;
    public int Memory;

    public readonly int Total => L1 + L2 + L3 + Memory;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Add(ServedBy by)
    {
        switch (by)
        {
            case ServedBy.L1: L1++; break;
            case ServedBy.L2: L2++; break;
            case ServedBy.L3: L3++; break;
            default: Memory++; break;
        }
    }

    /// <summary>Adds the tally to <paramref name="stats"/>: the references themselves and where they were served.</summary>
    public readonly void AddTo(EngineStats stats)
    {
        stats.WalkRefs += Total;
        stats.WalkL1 += L1;
        stats.WalkL2 += L2;
        stats.WalkL3 += L3;
        stats.WalkMem += Memory;
    }

    /// <summary>One reference served by <paramref name="by"/>, counted straight into <paramref name="stats"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static void Count(EngineStats stats, ServedBy by)
    {
        stats.WalkRefs++;
        switch (by)
        {
            case ServedBy.L1: stats.WalkL1++; break;
            case ServedBy.L2: stats.WalkL2++; break;
            case ServedBy.L3: stats.WalkL3++; break;
            default: stats.WalkMem++; break;
        }
    }
}
