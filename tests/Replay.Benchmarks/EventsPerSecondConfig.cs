using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Replay.Benchmarks;

/// <summary>
/// Adds an events/s column (trace events divided by the mean time of one invocation), the "vs DuckDB" column
/// where a class has the DuckDB floor, a JSON export, and the filter that honours <see cref="OnlyTracesAttribute"/>
/// and <see cref="ExtendedAttribute"/>.
/// </summary>
public sealed class EventsPerSecondConfig : ManualConfig
{
    public EventsPerSecondConfig()
    {
        AddColumn(new RateColumn("EventsPerSecond", "events/s", "Trace events processed per second (events / mean time of one invocation).",
            EventsOf));
        AddColumn(new VsDuckDbColumn());
        AddExporter(JsonExporter.Full);
        AddFilter(new SimpleFilter(c => OnlyTracesAttribute.Allows(c) && ExtendedAttribute.Allows(c)));
    }

    /// <summary>The line a benchmark process prints in its global setup to say how many events one invocation processes.</summary>
    internal const string EventsLine = "// events per invocation: ";

    /// <summary>Prints <see cref="EventsLine"/> (the rate column reads it back from the benchmark process's output).</summary>
    internal static void ReportEvents(long events) => Console.WriteLine(FormattableString.Invariant($"{EventsLine}{events}"));

    /// <summary>
    /// Events one invocation processes: what the benchmark process said in <see cref="EventsLine"/> (the rows of its
    /// trace, times the passes over a short one), or <see cref="BenchTrace.Events"/> for a benchmark that generates
    /// them. Read from the process's output because this column runs in the host process, which cannot rebuild the
    /// benchmark's trace names (they carry the generator build the benchmark process was built with).
    /// </summary>
    internal static double? EventsOf(Summary summary, BenchmarkCase c)
    {
        var said = summary[c]?.ExecuteResults.SelectMany(r => r.StandardOutput).LastOrDefault(l => l.StartsWith(EventsLine, StringComparison.Ordinal));
        return said is null ? BenchTrace.Events : long.Parse(said.AsSpan(EventsLine.Length), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>Runs a benchmark method only for these values of its class's <c>Trace</c> parameter (others are filtered out).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OnlyTracesAttribute(params string[] traces) : Attribute
{
    public IReadOnlyList<string> Traces { get; } = traces;

    internal static bool Allows(BenchmarkCase c)
    {
        var only = c.Descriptor.WorkloadMethod.GetCustomAttributes(typeof(OnlyTracesAttribute), inherit: false).Cast<OnlyTracesAttribute>().FirstOrDefault();
        return only is null
            || c.Parameters.Items.FirstOrDefault(p => p.Name == "Trace")?.Value is not string trace
            || only.Traces.Contains(trace, StringComparer.Ordinal);
    }
}

/// <summary>
/// A benchmark of the full suite that the nightly job leaves out to stay within its time (it adds little to the
/// regression check: the other benchmarks cover the same code). Run unless REPLAY_BENCH_EXTENDED=0.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ExtendedAttribute : Attribute
{
    internal static bool Enabled => Environment.GetEnvironmentVariable("REPLAY_BENCH_EXTENDED") != "0";

    internal static bool Allows(BenchmarkCase c) => Enabled || !c.Descriptor.WorkloadMethod.IsDefined(typeof(ExtendedAttribute), inherit: false);
}
