using Replay.Engines.Caches;
using Replay.Engines.Guest;
using Replay.Engines.Paging;
using Replay.Engines.Parts.Nested;

namespace Replay.Engines.Agile;

/// <summary>
/// The table hook of agile paging's hardware walk, told the level of every entry: above the switch level the entry
/// read is the shadow entry (one reference at the shadow page's host address, no nested translation; a missing one
/// stops the walk: a hidden fault); at the switch level the guest table is reached by the host address the switching
/// shadow entry holds (one reference, no nested translation); below it, and at the root when the whole walk is
/// nested, each guest table's gpa is translated through the nested MMU first (an EPT violation stops the walk).
/// So with no caches a walk that switches at level L of an n-level guest over an m-level EPT makes
/// (n − L) + 1 + (L − 1)(m + 1) references before the data gpa's m, and the full nested walk (n + 1)(m + 1) − 1.
/// Kept by value, like every hook, so an undone walk attempt leaves no trace.
/// </summary>
internal struct AgileTables(WalkPlan plan, int[] shadowPages, NestedMmu nested, MemoryHierarchy caches, int vcpu, int levels) : IGuestTableAccess
{
    /// <summary>Guest and EPT references of the nested part, and where every reference (shadow ones too) was served.</summary>
    public WalkTally Tally;

    /// <summary>Shadow entries read.</summary>
    public int ShadowRefs;

    /// <summary>The walk stopped on an EPT violation (otherwise a stop is a missing shadow entry).</summary>
    public bool Violation;

    public bool BeforeRead(ulong tableGpa, ulong entryGpa, int level)
    {
        int index = (int)((entryGpa >> Pte.EntryShift) & Pte.IndexMask);
        if (level > plan.Switch)
        {
            ShadowRefs++;
            Tally.Served.Add(caches.Data(vcpu, HostAddress.ShadowEntry(shadowPages[level], index)));
            return level != plan.Fault;
        }

        if (level < plan.Switch || plan.Switch == levels)
        {
            if (!nested.Translate(tableGpa, ref Tally))
            {
                Violation = true;
                return false;
            }
        }

        Tally.GuestRefs++;
        Tally.Served.Add(caches.Data(vcpu, entryGpa));
        return true;
    }
}
