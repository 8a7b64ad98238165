using Replay.Engines.Guest;

namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// Records the guest table a software walk (the VMM's, no paging-structure caches) reads at each level, so a fill can
/// follow the guest's path table by table. Shared by every shadow fill (<see cref="ShadowFaults"/>, <c>agile</c>).
/// </summary>
internal struct WalkRecorder : IGuestTableAccess
{
    private ulong _t1, _t2, _t3, _t4, _t5;

    public bool BeforeRead(ulong tableGpa, ulong entryGpa, int level)
    {
        switch (level)
        {
            case 1: _t1 = tableGpa; break;
            case 2: _t2 = tableGpa; break;
            case 3: _t3 = tableGpa; break;
            case 4: _t4 = tableGpa; break;
            default: _t5 = tableGpa; break;
        }

        return true;
    }

    /// <summary>The gpa of the guest table read at <paramref name="level"/>.</summary>
    public readonly ulong Table(int level) => level switch { 1 => _t1, 2 => _t2, 3 => _t3, 4 => _t4, _ => _t5 };
}
