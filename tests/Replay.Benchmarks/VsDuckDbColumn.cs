using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Replay.Benchmarks;

/// <summary>Marks the benchmark whose mean time is the DuckDB floor the "vs DuckDB" column divides by.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class DuckDbFloorAttribute : Attribute;

/// <summary>
/// "vs DuckDB": the floor's mean time (DuckDB scanning the same file, the benchmark marked
/// <see cref="DuckDbFloorAttribute"/>, same class and parameters) divided by this benchmark's mean time, i.e. this
/// benchmark's rate as a fraction of DuckDB's scan rate (the floor itself reads 1.00; issue 11's end-to-end target
/// is 0.5 or more). The reciprocal of BenchmarkDotNet's Ratio where the floor is also the baseline.
/// </summary>
internal sealed class VsDuckDbColumn : IColumn
{
    public string Id => "VsDuckDb";
    public string ColumnName => "vs DuckDB";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 1;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "DuckDB's mean time (threads=2) scanning the same trace / this mean time: this rate as a fraction of DuckDB's scan rate";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? mine = summary[benchmarkCase]?.ResultStatistics?.Mean;
        double? floor = Floor(summary, benchmarkCase) is { } f ? summary[f]?.ResultStatistics?.Mean : null;
        return mine is > 0 && floor is > 0 ? (floor.Value / mine.Value).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) : "-";
    }

    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(IsFloor);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    private static bool IsFloor(BenchmarkCase c) => c.Descriptor.WorkloadMethod.IsDefined(typeof(DuckDbFloorAttribute), inherit: false);

    private static BenchmarkCase? Floor(Summary summary, BenchmarkCase c) =>
        summary.BenchmarksCases.FirstOrDefault(f => IsFloor(f) && f.Descriptor.Type == c.Descriptor.Type
            && f.Parameters.FolderInfo == c.Parameters.FolderInfo && f.Job.DisplayInfo == c.Job.DisplayInfo);
}
