namespace Replay.Fidelity;

/// <summary>
/// A published number (or range) an effect is compared with. <see cref="Low"/> = <see cref="High"/> for a point value;
/// both null for an effect published only as a direction ("large pages offset EPT's dearer TLB misses").
/// </summary>
public sealed record Published(double? Low, double? High, string Text)
{
    public static Published Point(double value, string text) => new(value, value, text);

    public static Published Range(double low, double high, string text) => new(low, high, text);

    public static Published Direction(string text) => new(null, null, text);

    /// <summary>
    /// measured / published: for a range, against its nearer end (1 inside it); NaN for a direction-only effect, a
    /// published value of 0, or a measurement that is not a number (a phase with no events measures 0/0: no comparison
    /// with NaN would put it outside the range, so it must not fall through to "inside").
    /// </summary>
    public double Ratio(double measured) =>
        double.IsNaN(measured) || Low is not { } lo || High is not { } hi ? double.NaN
        : measured < lo ? (lo == 0 ? double.NaN : measured / lo)
        : measured > hi ? (hi == 0 ? double.NaN : measured / hi)
        : 1.0;
}

/// <summary>
/// One published effect the model must reproduce (SPEC §6 <c>replay fidelity</c>): where it was published, the setting
/// it is measured in here, the published size, how to measure it from replays, and which direction is right. An effect
/// is within its band when the direction is right and measured/published lies in [1/2, 2] (a direction-only effect
/// needs only the direction).
/// </summary>
/// <param name="Ceiling">
/// For an effect that measures how much one side beats another: the most this setting can measure, the same quantity
/// with the winning side at native cost (nothing left for it to gain), so the losing side's own overhead over native.
/// Below half the published number nothing the winning side does can bring the effect into its band: only a dearer
/// losing side (its costs) or a workload that costs it more can. Null where no such bound exists; not a number where
/// the measured number is not one (a phase with no events).
/// </param>
public sealed record Effect(
    string Id,
    string Source,
    string Setting,
    Published Published,
    string Unit,
    IReadOnlyList<LabRun> Needs,
    Func<LabResults, double> Measure,
    Func<LabResults, double, bool> DirectionOk,
    Func<LabResults, double>? Ceiling = null);

/// <summary>One row of the fidelity table; <c>--json</c> names its fields as <c>fidelity.parquet</c> names its columns.</summary>
public sealed record FidelityRow(
    string Effect,
    string Source,
    string Setting,
    string Published,
    double PublishedLow,
    double PublishedHigh,
    double Measured,
    string Unit,
    bool DirectionOk,
    double Ratio,
    [property: System.Text.Json.Serialization.JsonPropertyName("within_2x")] bool Within2x,
    double Ceiling)
{
    public static FidelityRow Of(Effect e, LabResults results)
    {
        double measured = e.Measure(results);
        bool direction = e.DirectionOk(results, measured);
        double ratio = e.Published.Ratio(measured);
        bool within = direction && (double.IsNaN(ratio) ? e.Published.Low is null : ratio is >= 0.5 and <= 2.0);
        return new FidelityRow(e.Id, e.Source, e.Setting, e.Published.Text, e.Published.Low ?? double.NaN, e.Published.High ?? double.NaN,
            measured, e.Unit, direction, ratio, within, e.Ceiling is { } ceiling && !double.IsNaN(measured) ? ceiling(results) : double.NaN);
    }
}
