using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Replay.Benchmarks;

/// <summary>Adds an events/s column (trace events divided by the mean time of one pass) and a JSON export.</summary>
public sealed class EventsPerSecondConfig : ManualConfig
{
    public EventsPerSecondConfig()
    {
        AddColumn(new EventsPerSecondColumn());
        AddExporter(JsonExporter.Full);
    }

    private sealed class EventsPerSecondColumn : IColumn
    {
        public string Id => "EventsPerSecond";
        public string ColumnName => "events/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Trace events processed per second (events / mean time of one pass over the trace).";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            double? ns = report?.ResultStatistics?.Mean;
            return ns is > 0 ? $"{BenchTrace.Events / (ns.Value / 1e9) / 1e6:0.0}M" : "-";
        }

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
