using Replay.Engines.Caches;

namespace Replay.Engines.Contract;

/// <summary>
/// How walk references reach <see cref="EngineStats"/>: <see cref="EngineStats.WalkRefs"/> and exactly one of its
/// per-level counters per reference. Extension members of <see cref="WalkServed"/>, so the cache model below the
/// contract keeps no reference to it while call sites read as the tally's own.
/// </summary>
public static class WalkServedStats
{
    extension(in WalkServed served)
    {
        /// <summary>Adds the tally to <paramref name="stats"/>: the references themselves and where they were served.</summary>
        public void AddTo(EngineStats stats)
        {
            stats.WalkRefs += served.Total;
            stats.WalkL1 += served.L1;
            stats.WalkL2 += served.L2;
            stats.WalkL3 += served.L3;
            stats.WalkMem += served.Memory;
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
}
