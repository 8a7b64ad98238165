using Replay.Engines.Caches;
using Replay.Engines.Contract;
using Replay.Engines.Paging;
using Replay.Engines.Tlb;

namespace Replay.Engines.Parts.Nested;

/// <summary>What one 2-D walk (or one attempt of it) did, counted as it happened.</summary>
internal struct WalkTally
{
    public long GuestRefs;
    public long EptRefs;
    public long NestedTlbHits;
    public long NestedTlbMisses;
    public long EptPscHits;

    /// <summary>Where every reference (guest and EPT) was served; its total is GuestRefs + EptRefs.</summary>
    public WalkServed Served;

    public void Add(in WalkTally o)
    {
        Served.L1 += o.Served.L1;
        Served.L2 += o.Served.L2;
        Served.L3 += o.Served.L3;
        Served.Memory += o.Served.Memory;
        GuestRefs += o.GuestRefs;
        EptRefs += o.EptRefs;
        NestedTlbHits += o.NestedTlbHits;
        NestedTlbMisses += o.NestedTlbMisses;
        EptPscHits += o.EptPscHits;
    }

    /// <summary>
    /// Adds the tally to <paramref name="stats"/>: where each reference was served, the EPT paging-structure-cache and
    /// nested TLB hits into the common counts, and each figure into the counter <paramref name="c"/> names for it.
    /// </summary>
    public readonly void AddTo(EngineStats stats, in TallyCounters c)
    {
        Served.AddTo(stats);
        stats.PscHits += EptPscHits;
        stats.NestedTlbHits += NestedTlbHits;
        var n = stats.Counters;
        n[c.GuestRefs] += GuestRefs;
        n[c.EptRefs] += EptRefs;
        n[c.NestedTlbHits] += NestedTlbHits;
        n[c.NestedTlbMisses] += NestedTlbMisses;
        n[c.EptPscHits] += EptPscHits;
    }
}

/// <summary>The stats counter indexes a <see cref="WalkTally"/> is counted into (each engine orders its counters its own way).</summary>
internal readonly record struct TallyCounters(int GuestRefs, int EptRefs, int NestedTlbHits, int NestedTlbMisses, int EptPscHits);

/// <summary>
/// One vCPU's gpa → hpa hardware: a nested TLB (gpa page → hpa, untagged by anything the guest controls) and
/// EPT paging-structure caches (gpa-prefix keyed, like the guest's). A nested translation first looks in the
/// nested TLB (a hit costs no reference); on a miss it walks the EPT, one reference per entry read, starting
/// below the deepest EPT paging-structure-cache hit. Both caches only grow stale when EPT entries are removed
/// or narrowed, which never happens here (violations only add entries), so they are never flushed; an EPT
/// violation drops what would translate the faulting gpa (Intel SDM Vol. 3C §28.3.3.1), which is nothing in the
/// nested TLB and at most the upper EPT entries in the paging-structure caches.
/// </summary>
internal sealed class NestedMmu
{
    private const Perms All = Perms.Write | Perms.User | Perms.Exec;
    private readonly EptMap _ept;
    private readonly TlbArrayCache? _tlb;
    private readonly PagingStructureCache _psc;
    private readonly MemoryHierarchy _caches;
    private readonly int _vcpu;

    public NestedMmu(TlbGeometry g, EptMap ept, MemoryHierarchy caches, int vcpu)
    {
        _ept = ept;
        _caches = caches;
        _vcpu = vcpu;
        _tlb = g.NestedTlb is null ? null : new TlbArrayCache(g.NestedTlb, ept.PageShift);
        _psc = new PagingStructureCache(new TlbGeometry { PscPml4 = g.EptPscPml4, PscPdpt = g.EptPscPdpt, PscPd = g.EptPscPd });
    }

    /// <summary>Translates <paramref name="gpa"/>; false on an EPT violation (an EPT entry on the way is not present).</summary>
    public bool Translate(ulong gpa, ref WalkTally t)
    {
        if (_tlb is not null && _tlb.Lookup(gpa, 0, out _))
        {
            t.NestedTlbHits++;
            return true;
        }

        t.NestedTlbMisses++;
        int level = _ept.Levels;
        int hit = _psc.Lookup(gpa, 0, _ept.Levels, out _, out _);
        if (hit != 0)
        {
            t.EptPscHits++;
            level = hit - 1;
        }

        for (; ; level--)
        {
            t.EptRefs++;
            t.Served.Add(_caches.Data(_vcpu, HostAddress.EptEntry(level, gpa >> Pte.Shift(level + 1), Pte.Index(gpa, level))));
            if (!_ept.EntryPresent(gpa, level))
            {
                return false;
            }

            if (level == _ept.LeafLevel)
            {
                break;
            }

            _psc.Insert(gpa, level, 0, 0, 0);
        }

        _tlb?.Insert(gpa, 0, gpa & ~((1UL << _ept.PageShift) - 1), All, All, dirty: true, global: false);
        return true;
    }

    /// <summary>INVEPT: drops every cached guest-physical mapping (nested TLB and EPT paging-structure caches).</summary>
    public void Flush()
    {
        _tlb?.Flush(null, includeGlobal: true);
        _psc.FlushAll();
    }

    /// <summary>An EPT violation on <paramref name="gpa"/>: drops the cached guest-physical mappings that would translate it.</summary>
    public void InvalidateGpa(ulong gpa)
    {
        _tlb?.InvalidatePage(gpa, 0);
        _psc.InvalidateVa(gpa, 0);
    }
}
