namespace Replay.Engines.Caches;

/// <summary>
/// A tally of walk references by where they were served, kept by value so an abandoned walk attempt can be undone.
/// What it adds to an engine's stats is the contract's (<c>Replay.Engines.Contract.WalkServedStats</c>), so the
/// cache model does not depend on the engine contract.
/// </summary>
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
}
