namespace Replay.Analysis.Reports;

/// <summary>One row of <c>summary.parquet</c>: one (trace, engine, profile, phase). Columns in SPEC §5 order, then <c>psc_hits</c>.</summary>
public sealed record SummaryRow
{
    public required string Trace { get; init; }
    public required string TraceSha256 { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public required string Phase { get; init; }
    public long Events { get; init; }
    public long Accesses { get; init; }
    public long Cr3Loads { get; init; }
    public long PtWrites { get; init; }
    public long Invlpgs { get; init; }
    public long Flushes { get; init; }
    public long GuestFaults { get; init; }
    public long TraceWarnings { get; init; }
    public long TlbMisses { get; init; }
    public long WalkRefs { get; init; }
    public long Exits { get; init; }
    public double ExitCycles { get; init; }
    public double WalkCycles { get; init; }
    public double MmuCycles { get; init; }

    /// <summary><see cref="MmuCycles"/> minus native's for the same trace and phase.</summary>
    public double OverheadCycles { get; init; }

    /// <summary>overhead_cycles / accesses × 1000; 0 when the phase has no accesses.</summary>
    public double OverheadPerKaccess { get; init; }

    public double GuestCycles { get; init; }
    public double TotalCycles { get; init; }

    /// <summary>
    /// total_cycles / native's total_cycles; 1.0 for native. Never NaN: when native's total is 0 it is 1.0 if this
    /// total is 0 too, else +Infinity.
    /// </summary>
    public double Slowdown { get; init; }

    public long ShadowPagesPeak { get; init; }
    public long ShadowPagesCreated { get; init; }
    public long ShadowPagesEvicted { get; init; }
    public long EmulatedWrites { get; init; }
    public long Unsyncs { get; init; }
    public long Resyncs { get; init; }
    public long Unshadows { get; init; }

    /// <summary>Wall time of the replay; a named phase gets the run's time apportioned by its share of the events.</summary>
    public double ReplaySeconds { get; init; }

    /// <summary>events / replay_seconds, 0 when no time was measured (so every phase shows the run's rate).</summary>
    public double EventsPerSecond { get; init; }

    /// <summary>Paging-structure-cache hits, kept so a report can be re-priced exactly.</summary>
    public long PscHits { get; init; }

    /// <summary>Native's walk references in the same trace and phase (its whole MMU cost), for exact re-pricing.</summary>
    public long NativeWalkRefs { get; init; }

    /// <summary>Native's paging-structure-cache hits in the same trace and phase.</summary>
    public long NativePscHits { get; init; }
}

/// <summary>One row of <c>exits.parquet</c>: one exit kind that happened at least once in a phase.</summary>
public sealed record ExitRow
{
    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public required string Phase { get; init; }
    public required string Reason { get; init; }

    /// <summary>Intel's basic exit-reason number; −1 for the PV reasons.</summary>
    public int ReasonCode { get; init; }

    public required string Handler { get; init; }
    public long Count { get; init; }
    public long Units { get; init; }
    public double Cycles { get; init; }
}

/// <summary>One row of <c>timeline.parquet</c>: one window of events of one engine.</summary>
public sealed record TimelineRow
{
    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public long Window { get; init; }
    public long FirstEvent { get; init; }
    public long LastEvent { get; init; }

    /// <summary>Trace time at the window (ns); null when the trace has no time column.</summary>
    public long? TimeNs { get; init; }

    public long Accesses { get; init; }
    public long Exits { get; init; }
    public long GuestFaults { get; init; }
    public long TlbMisses { get; init; }
    public double MmuCycles { get; init; }

    /// <summary>Shadow pages allocated at the end of the window.</summary>
    public long ShadowPages { get; init; }

    public long WalkRefs { get; init; }
    public long PscHits { get; init; }
}

/// <summary>
/// One row of <c>timeline_exits.parquet</c>: one exit kind that happened in a timeline window (long form, like
/// <c>exits.parquet</c>), so the timeline's cycles can be re-priced exactly.
/// </summary>
public sealed record TimelineExitRow
{
    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public long Window { get; init; }
    public required string Reason { get; init; }
    public int ReasonCode { get; init; }
    public required string Handler { get; init; }
    public long Count { get; init; }
    public long Units { get; init; }
    public double Cycles { get; init; }
}

/// <summary>One row of <c>counters.parquet</c>: one engine-specific counter over the whole trace.</summary>
public sealed record CounterRow
{
    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Name { get; init; }
    public long Value { get; init; }
}

/// <summary>The report tables of one run.</summary>
public sealed record ReportTables(List<SummaryRow> Summary, List<ExitRow> Exits, List<TimelineRow> Timeline, List<CounterRow> Counters)
{
    public List<TimelineExitRow> TimelineExits { get; init; } = [];
}
