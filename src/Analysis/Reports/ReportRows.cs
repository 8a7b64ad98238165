using System.Diagnostics.CodeAnalysis;
namespace Replay.Analysis.Reports;

/// <summary>
/// One row of <c>summary.parquet</c>: one (trace, engine, profile, phase). Its metric columns are
/// <see cref="ReportMetrics"/>' summary metrics; the typed properties below are shorthands kept for existing callers
/// (a new metric needs none: read it as <c>row[ReportMetrics.X]</c>).
/// </summary>
public sealed record SummaryRow() : MetricRow(ReportMetrics.All.Summary)
{
    public required string Trace { get; init; }
    public required string TraceSha256 { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public required string Phase { get; init; }
    public long Events { get => this[ReportMetrics.Events]; init => Values = Values.With(ReportMetrics.Events, value); }
    public long Accesses { get => this[ReportMetrics.Accesses]; init => Values = Values.With(ReportMetrics.Accesses, value); }
    public long Cr3Loads { get => this[ReportMetrics.Cr3Loads]; init => Values = Values.With(ReportMetrics.Cr3Loads, value); }
    public long PtWrites { get => this[ReportMetrics.PtWrites]; init => Values = Values.With(ReportMetrics.PtWrites, value); }
    public long Invlpgs { get => this[ReportMetrics.Invlpgs]; init => Values = Values.With(ReportMetrics.Invlpgs, value); }
    public long Flushes { get => this[ReportMetrics.Flushes]; init => Values = Values.With(ReportMetrics.Flushes, value); }
    public long GuestFaults { get => this[ReportMetrics.GuestFaults]; init => Values = Values.With(ReportMetrics.GuestFaults, value); }
    public long TraceWarnings { get => this[ReportMetrics.TraceWarnings]; init => Values = Values.With(ReportMetrics.TraceWarnings, value); }
    public long TlbMisses { get => this[ReportMetrics.TlbMisses]; init => Values = Values.With(ReportMetrics.TlbMisses, value); }
    public long WalkRefs { get => this[ReportMetrics.WalkRefs]; init => Values = Values.With(ReportMetrics.WalkRefs, value); }
    public long Exits { get => this[ReportMetrics.Exits]; init => Values = Values.With(ReportMetrics.Exits, value); }
    public double ExitCycles { get => this[ReportMetrics.ExitCycles]; init => Values = Values.With(ReportMetrics.ExitCycles, value); }
    public double WalkCycles { get => this[ReportMetrics.WalkCycles]; init => Values = Values.With(ReportMetrics.WalkCycles, value); }
    public double MmuCycles { get => this[ReportMetrics.MmuCycles]; init => Values = Values.With(ReportMetrics.MmuCycles, value); }
    public double OverheadCycles { get => this[ReportMetrics.OverheadCycles]; init => Values = Values.With(ReportMetrics.OverheadCycles, value); }
    public double OverheadPerKaccess { get => this[ReportMetrics.OverheadPerKaccess]; init => Values = Values.With(ReportMetrics.OverheadPerKaccess, value); }
    public double GuestCycles { get => this[ReportMetrics.GuestCycles]; init => Values = Values.With(ReportMetrics.GuestCycles, value); }
    public double TotalCycles { get => this[ReportMetrics.TotalCycles]; init => Values = Values.With(ReportMetrics.TotalCycles, value); }
    public double Slowdown { get => this[ReportMetrics.Slowdown]; init => Values = Values.With(ReportMetrics.Slowdown, value); }
    public long ShadowPagesPeak { get => this[ReportMetrics.ShadowPagesPeak]; init => Values = Values.With(ReportMetrics.ShadowPagesPeak, value); }
    public long ShadowPagesCreated { get => this[ReportMetrics.ShadowPagesCreated]; init => Values = Values.With(ReportMetrics.ShadowPagesCreated, value); }
    public long ShadowPagesEvicted { get => this[ReportMetrics.ShadowPagesEvicted]; init => Values = Values.With(ReportMetrics.ShadowPagesEvicted, value); }
    public long EmulatedWrites { get => this[ReportMetrics.EmulatedWrites]; init => Values = Values.With(ReportMetrics.EmulatedWrites, value); }
    public long Unsyncs { get => this[ReportMetrics.Unsyncs]; init => Values = Values.With(ReportMetrics.Unsyncs, value); }
    public long Resyncs { get => this[ReportMetrics.Resyncs]; init => Values = Values.With(ReportMetrics.Resyncs, value); }
    public long Unshadows { get => this[ReportMetrics.Unshadows]; init => Values = Values.With(ReportMetrics.Unshadows, value); }
    public double ReplaySeconds { get => this[ReportMetrics.ReplaySeconds]; init => Values = Values.With(ReportMetrics.ReplaySeconds, value); }
    public double EventsPerSecond { get => this[ReportMetrics.EventsPerSecond]; init => Values = Values.With(ReportMetrics.EventsPerSecond, value); }
    public long PscHits { get => this[ReportMetrics.PscHits]; init => Values = Values.With(ReportMetrics.PscHits, value); }
    public long NativeWalkRefs { get => this[ReportMetrics.NativeWalkRefs]; init => Values = Values.With(ReportMetrics.NativeWalkRefs, value); }
    public long NativePscHits { get => this[ReportMetrics.NativePscHits]; init => Values = Values.With(ReportMetrics.NativePscHits, value); }
}

/// <summary>
/// What every long-form exit row holds (<c>exits</c>, <c>timeline_exits</c>, <c>vcpu_exits</c>): one exit kind that
/// happened at least once in the row's scope, with its count, work units and cycles. The tables differ only in the
/// key between <see cref="Profile"/> and <see cref="Reason"/> (phase, window, or phase and vCPU).
/// </summary>
public abstract record ExitKindRow
{
    protected ExitKindRow()
    {
    }

    /// <summary>A row of <paramref name="trace"/>, <paramref name="engine"/> and <paramref name="profile"/> holding <paramref name="tally"/>.</summary>
    [SetsRequiredMembers]
    protected ExitKindRow(string trace, string engine, string profile, ExitTally tally)
    {
        Trace = trace;
        Engine = engine;
        Profile = profile;
        (Reason, ReasonCode, Handler, Count, Units, Cycles) = tally;
    }

    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public required string Reason { get; init; }

    /// <summary>Intel's basic exit-reason number; −1 for the PV reasons.</summary>
    public int ReasonCode { get; init; }

    public required string Handler { get; init; }
    public long Count { get; init; }
    public long Units { get; init; }
    public double Cycles { get; init; }

    /// <summary>The row's exit-kind part, for a row of another table.</summary>
    public ExitTally ToTally() => new(Reason, ReasonCode, Handler, Count, Units, Cycles);
}

/// <summary>The exit-kind part of a long-form exit row: the reason and handler, and their count, work units and cycles.</summary>
public readonly record struct ExitTally(string Reason, int ReasonCode, string Handler, long Count, long Units, double Cycles);

/// <summary>One row of <c>exits.parquet</c>: one exit kind that happened at least once in a phase.</summary>
public sealed record ExitRow : ExitKindRow
{
    public ExitRow()
    {
    }

    [SetsRequiredMembers]
    public ExitRow(string trace, string engine, string profile, string phase, ExitTally tally)
        : base(trace, engine, profile, tally) => Phase = phase;

    public required string Phase { get; init; }
}

/// <summary>One row of <c>timeline.parquet</c>: one window of events of one engine; typed properties as on <see cref="SummaryRow"/>.</summary>
public sealed record TimelineRow() : MetricRow(ReportMetrics.All.Timeline)
{
    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public long Window { get; init; }
    public long FirstEvent { get; init; }
    public long LastEvent { get; init; }

    /// <summary>Trace time at the window (ns); null when the trace has no time column.</summary>
    public long? TimeNs { get; init; }

    public long Accesses { get => this[ReportMetrics.Accesses]; init => Values = Values.With(ReportMetrics.Accesses, value); }
    public long Exits { get => this[ReportMetrics.Exits]; init => Values = Values.With(ReportMetrics.Exits, value); }
    public long GuestFaults { get => this[ReportMetrics.GuestFaults]; init => Values = Values.With(ReportMetrics.GuestFaults, value); }
    public long TlbMisses { get => this[ReportMetrics.TlbMisses]; init => Values = Values.With(ReportMetrics.TlbMisses, value); }
    public double MmuCycles { get => this[ReportMetrics.MmuCycles]; init => Values = Values.With(ReportMetrics.MmuCycles, value); }
    public long ShadowPages { get => this[ReportMetrics.ShadowPages]; init => Values = Values.With(ReportMetrics.ShadowPages, value); }
    public long WalkRefs { get => this[ReportMetrics.WalkRefs]; init => Values = Values.With(ReportMetrics.WalkRefs, value); }
    public long PscHits { get => this[ReportMetrics.PscHits]; init => Values = Values.With(ReportMetrics.PscHits, value); }
}

/// <summary>
/// One row of <c>timeline_exits.parquet</c>: one exit kind that happened in a timeline window (long form, like
/// <c>exits.parquet</c>), so the timeline's cycles can be re-priced exactly.
/// </summary>
public sealed record TimelineExitRow : ExitKindRow
{
    public TimelineExitRow()
    {
    }

    [SetsRequiredMembers]
    public TimelineExitRow(string trace, string engine, string profile, long window, ExitTally tally)
        : base(trace, engine, profile, tally) => Window = window;

    public long Window { get; init; }
}

/// <summary>
/// One row of <c>vcpus.parquet</c>: one vCPU of one (trace, engine, profile, phase), its metrics those of
/// <see cref="ReportFiles.Vcpus"/>; over a phase's vCPUs every count sums to the phase's summary row.
/// </summary>
public sealed record VcpuRow() : MetricRow(ReportMetrics.All.Vcpus)
{
    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Profile { get; init; }
    public required string Phase { get; init; }

    /// <summary>The vCPU (the trace's <c>vcpu</c> column).</summary>
    public int Vcpu { get; init; }
}

/// <summary>One row of <c>vcpu_exits.parquet</c>: one exit kind of one vCPU in a phase (long form, like <c>exits.parquet</c>).</summary>
public sealed record VcpuExitRow : ExitKindRow
{
    public VcpuExitRow()
    {
    }

    [SetsRequiredMembers]
    public VcpuExitRow(string trace, string engine, string profile, string phase, int vcpu, ExitTally tally)
        : base(trace, engine, profile, tally) => (Phase, Vcpu) = (phase, vcpu);

    public required string Phase { get; init; }
    public int Vcpu { get; init; }
}

/// <summary>One row of <c>counters.parquet</c>: one engine-specific counter over the whole trace.</summary>
public sealed record CounterRow
{
    public required string Trace { get; init; }
    public required string Engine { get; init; }
    public required string Name { get; init; }
    public long Value { get; init; }
}

/// <summary>
/// The report tables of one run. <see cref="Timeline"/> and <see cref="TimelineExits"/> may be lazy (a replay's are
/// priced window by window as they are enumerated, so a run with millions of windows never holds them all): enumerate
/// them rather than counting on a list, and expect each enumeration to price the windows again.
/// </summary>
public sealed record ReportTables(List<SummaryRow> Summary, List<ExitRow> Exits, IEnumerable<TimelineRow> Timeline, List<CounterRow> Counters)
{
    public IEnumerable<TimelineExitRow> TimelineExits { get; init; } = [];

    /// <summary>Per-vCPU rows (<c>vcpus.parquet</c>).</summary>
    public List<VcpuRow> Vcpus { get; init; } = [];

    /// <summary>Per-vCPU exits (<c>vcpu_exits.parquet</c>).</summary>
    public List<VcpuExitRow> VcpuExits { get; init; } = [];

    /// <summary>The metrics the summary, timeline and per-vCPU rows hold (the writer lays their columns out from it).</summary>
    public MetricSet Metrics { get; init; } = ReportMetrics.All;
}
