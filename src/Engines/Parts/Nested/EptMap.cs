using Replay.Engines.Paging;

namespace Replay.Engines.Parts.Nested;

/// <summary>
/// The VM's EPT: which guest-physical memory is mapped, as a radix tree of <see cref="Levels"/> levels whose leaves
/// sit at <see cref="LeafLevel"/> (1: 4 KiB pages, 2: 2 MiB pages). Only presence is modelled (host frames never
/// matter). One per VM, shared by every vCPU. The root table exists from the start; mappings are only ever added,
/// so no cached gpa translation ever goes stale. Memory below <see cref="PrepopulatedBytes"/> is mapped without
/// storing its entries.
/// </summary>
internal sealed class EptMap
{
    // _tables[l]: keys of the level-l tables below the root (l = LeafLevel .. Levels-1), a table at level l being
    // identified by the gpa bits above those its entries map (gpa >> Pte.Shift(l + 1)). _tables[LeafLevel - 1]
    // holds the leaf entries themselves (gpa >> Pte.Shift(LeafLevel)).
    private readonly HashSet<ulong>[] _tables;
    private readonly ulong[] _prepopulatedKeys;
    private long _pages = 1;

    public EptMap(int levels, bool largePages)
    {
        Levels = levels;
        LeafLevel = largePages ? 2 : 1;
        _tables = Enumerable.Range(0, levels).Select(_ => new HashSet<ulong>()).ToArray();
        _prepopulatedKeys = new ulong[levels];
    }

    public int Levels { get; }

    /// <summary>1 = EPT PTEs map 4 KiB pages; 2 = EPT PDEs map 2 MiB pages (the host backs guest memory with large pages).</summary>
    public int LeafLevel { get; }

    /// <summary>log2 of the size of the page an EPT leaf maps (12 or 21).</summary>
    public int PageShift => Pte.Shift(LeafLevel);

    /// <summary>EPT paging-structure pages, the root included.</summary>
    public long Pages => _pages;

    public ulong PrepopulatedBytes { get; private set; }

    /// <summary>
    /// Maps guest-physical [0, <paramref name="bytes"/>) up front; returns the EPT pages built: for each level l
    /// from the leaf tables up to the level below the root, ceil(bytes / 2^Shift(l+1)) tables.
    /// </summary>
    public long Prepopulate(ulong bytes)
    {
        PrepopulatedBytes = bytes;
        long built = 0;
        for (int level = LeafLevel - 1; level < Levels; level++)
        {
            int shift = Pte.Shift(level + 1);
            ulong keys = bytes == 0 ? 0 : ((bytes - 1) >> shift) + 1;
            _prepopulatedKeys[level] = keys;
            if (level >= LeafLevel)
            {
                built += (long)keys;
            }
        }

        _pages += built;
        return built;
    }

    /// <summary>Whether the level-<paramref name="level"/> entry that translates <paramref name="gpa"/> is present.</summary>
    public bool EntryPresent(ulong gpa, int level) => Has(level - 1, gpa >> Pte.Shift(level));

    /// <summary>
    /// The EPT-violation handler's work: maps the leaf for <paramref name="gpa"/>, creating the missing tables on
    /// the way down; returns how many tables it created.
    /// </summary>
    public int Fill(ulong gpa)
    {
        int created = 0;
        for (int level = Levels - 1; level >= LeafLevel - 1; level--)
        {
            ulong key = gpa >> Pte.Shift(level + 1);
            if (!Has(level, key))
            {
                _tables[level].Add(key);
                if (level >= LeafLevel)
                {
                    created++;
                }
            }
        }

        _pages += created;
        return created;
    }

    private bool Has(int level, ulong key) => key < _prepopulatedKeys[level] || _tables[level].Contains(key);
}
