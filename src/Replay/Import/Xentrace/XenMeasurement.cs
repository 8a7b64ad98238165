namespace Replay.Import.Xentrace;

/// <summary>A virtual CPU of a domain, as xentrace names it (d14v2).</summary>
internal readonly record struct XenVcpu(int Domain, int Vcpu) : IComparable<XenVcpu>
{
    public int CompareTo(XenVcpu other) => Domain != other.Domain ? Domain.CompareTo(other.Domain) : Vcpu.CompareTo(other.Vcpu);

    public override string ToString() => $"d{Domain}v{Vcpu}";
}

/// <summary>An exit kind: Intel basic exit reason and the handler the trace shows for it.</summary>
internal readonly record struct XenExitKind(int Reason, string Handler);

/// <summary>
/// Exits of one kind: <see cref="Count"/> closed exits (xenalyze's <c>event_count</c>), <see cref="Timed"/> of them with a
/// non-zero VMEXIT-to-VMENTRY time (xenalyze's <c>count</c>, the divisor of its average), <see cref="Cycles"/> their TSC sum.
/// </summary>
internal sealed class XenExitTally
{
    public long Count { get; set; }

    public long Timed { get; set; }

    public ulong Cycles { get; set; }

    /// <summary>xenalyze's average: cycles / timed exits, truncated.</summary>
    public ulong AverageCycles => Timed == 0 ? 0 : Cycles / (ulong)Timed;

    public void Add(ulong cycles)
    {
        Count++;
        if (cycles != 0)
        {
            Timed++;
            Cycles += cycles;
        }
    }
}

/// <summary>What a xentrace says the hypervisor did: exits per vCPU and per time window, and named counters.</summary>
internal sealed class XenMeasurement
{
    /// <summary>Closed exits by vCPU and kind.</summary>
    public SortedDictionary<XenVcpu, Dictionary<XenExitKind, XenExitTally>> Exits { get; } = [];

    /// <summary>Closed exits of every vCPU by time window (of the VMEXIT) and kind.</summary>
    public SortedDictionary<long, Dictionary<XenExitKind, XenExitTally>> Windows { get; } = [];

    /// <summary>Record and event counts: <c>records</c>, per class, <c>lost_records</c>, <c>unknown_events</c>, handler and shadow-outcome counts.</summary>
    public SortedDictionary<string, long> Counters { get; } = new(StringComparer.Ordinal);

    /// <summary>The first and last TSC of the trace.</summary>
    public ulong FirstTsc { get; set; }

    public ulong LastTsc { get; set; }

    /// <summary>TSC ticks per time window.</summary>
    public ulong WindowCycles { get; init; } = 1;

    /// <summary>Records read (CPU_CHANGE headers not included).</summary>
    public long Records { get; set; }

    public void Count(string name, long n = 1) => Counters[name] = Counters.GetValueOrDefault(name) + n;

    /// <summary>The first and last record (0-based, merged order) that closed an exit in each window.</summary>
    public SortedDictionary<long, (long First, long Last)> WindowRecords { get; } = [];

    /// <summary>Counts a closed exit; <paramref name="exitTsc"/> picks its window, the current record closed it.</summary>
    public void AddExit(XenVcpu v, XenExitKind kind, ulong exitTsc, ulong cycles)
    {
        Tally(Exits, v, kind).Add(cycles);
        long window = (long)((exitTsc - Math.Min(exitTsc, FirstTsc)) / WindowCycles);
        Tally(Windows, window, kind).Add(cycles);
        long record = Records - 1;
        WindowRecords[window] = WindowRecords.TryGetValue(window, out var span) ? (Math.Min(span.First, record), Math.Max(span.Last, record)) : (record, record);
    }

    private static XenExitTally Tally<TKey>(SortedDictionary<TKey, Dictionary<XenExitKind, XenExitTally>> table, TKey key, XenExitKind kind)
        where TKey : notnull
    {
        if (!table.TryGetValue(key, out var byKind))
        {
            table[key] = byKind = [];
        }

        if (!byKind.TryGetValue(kind, out var t))
        {
            byKind[kind] = t = new XenExitTally();
        }

        return t;
    }
}
