using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Replay.Benchmarks;

/// <summary>Adds a lines/s column (input lines divided by the mean time of one pass) and a JSON export.</summary>
public sealed class LinesPerSecondConfig : ManualConfig
{
    public LinesPerSecondConfig()
    {
        AddColumn(new LinesPerSecondColumn());
        AddExporter(JsonExporter.Full);
    }

    private sealed class LinesPerSecondColumn : IColumn
    {
        public string Id => "LinesPerSecond";
        public string ColumnName => "lines/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Input lines read per second (lines / mean time of one pass over the file).";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            double? ns = report?.ResultStatistics?.Mean;
            return ns is > 0 ? $"{LackeyBenchFile.Lines / (ns.Value / 1e9) / 1e6:0.0}M" : "-";
        }

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
