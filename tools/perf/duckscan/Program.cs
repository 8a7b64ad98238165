using System.Diagnostics;
using System.Globalization;
using Replay.Benchmarks;

// duckscan TRACE [--threads N] [--aggregate bit_xor|sum|max]
// Scans TRACE with DuckDB as the benchmark suite's floor does ('duckdb scan (threads=N)' in ReplayBenchmarks):
// a fresh in-memory database, SET threads=N, one aggregate over every trace column the file has. Prints one line
// (rows, seconds inside the scan, rows/s); tools/perf/floor.sh times the whole process around it.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: duckscan TRACE [--threads N] [--aggregate bit_xor|sum|max]");
    return 2;
}

string trace = args[0];
int threads = 2;
string aggregate = DuckDbScan.Aggregate;
for (int i = 1; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--threads" when i + 1 < args.Length:
            threads = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--aggregate" when i + 1 < args.Length && args[i + 1] is "bit_xor" or "sum" or "max":
            aggregate = args[++i];
            break;
        default:
            Console.Error.WriteLine($"duckscan: unexpected argument '{args[i]}'");
            return 2;
    }
}

var sw = Stopwatch.StartNew();
var scan = DuckDbScan.For(trace, aggregate);
long rows = scan.Run(threads);
double s = sw.Elapsed.TotalSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{Path.GetFileName(trace)}: {rows:N0} rows, {scan.Columns.Count} columns ({string.Join(",", scan.Columns)}), {aggregate}, threads={threads}: {s:F3} s, {rows / s / 1e6:F1}M rows/s"));
return 0;
