using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;

namespace Replay.Benchmarks;

/// <summary>Adds an events/s column (trace events divided by the mean time of one pass) and a JSON export.</summary>
public sealed class EventsPerSecondConfig : ManualConfig
{
    public EventsPerSecondConfig()
    {
        AddColumn(new RateColumn("EventsPerSecond", "events/s", "Trace events processed per second (events / mean time of one pass over the trace).",
            () => BenchTrace.Events));
        AddExporter(JsonExporter.Full);
    }
}
