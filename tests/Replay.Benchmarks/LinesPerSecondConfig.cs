using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;

namespace Replay.Benchmarks;

/// <summary>Adds a lines/s column (input lines divided by the mean time of one pass) and a JSON export.</summary>
public sealed class LinesPerSecondConfig : ManualConfig
{
    public LinesPerSecondConfig()
    {
        AddColumn(new RateColumn("LinesPerSecond", "lines/s", "Input lines read per second (lines / mean time of one pass over the file).",
            (_, _) => LackeyBenchFile.Lines));
        AddExporter(JsonExporter.Full);
    }
}
