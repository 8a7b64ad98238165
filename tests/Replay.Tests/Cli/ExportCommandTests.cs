using System.Globalization;
using System.Text.Json;
using Replay.Analysis.Reports;

namespace Replay.Tests.Cli;

public sealed class ExportCommandTests : IDisposable
{
    private readonly TempDir _d = Cli.Temp();

    public void Dispose() => _d.Dispose();

    [Fact]
    public async Task CSV_export_holds_every_row_and_column_with_values_that_round_trip_exactly()
    {
        string report = await Report();
        var (code, stdout, err) = await Cli.RunAsync("export", report, "--format", "csv", "--out", _d.File("csv"));
        Assert.True(code == 0, err);
        Assert.Equal(14, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // summary, exits, timeline, counters, timeline_exits, vcpus, vcpu_exits, each with its .meta.json

        var summary = await ReportReader.ReadSummaryAsync(Path.Combine(report, "summary.parquet"));
        var lines = await File.ReadAllLinesAsync(_d.File("csv/summary.csv"));
        Assert.Equal(summary.Count + 1, lines.Length);
        var header = lines[0].Split(',').ToList();
        Assert.Equal("trace", header[0]);
        Assert.Equal("native_walk_refs_mem", header[^1]);
        for (int i = 0; i < summary.Count; i++)
        {
            var fields = lines[i + 1].Split(',');
            Assert.Equal(summary[i].Engine, fields[header.IndexOf("engine")]);
            Assert.Equal(summary[i].Exits, long.Parse(fields[header.IndexOf("exits")], CultureInfo.InvariantCulture));
            Assert.Equal(summary[i].MmuCycles, double.Parse(fields[header.IndexOf("mmu_cycles")], CultureInfo.InvariantCulture));
            Assert.Equal(summary[i].Slowdown, double.Parse(fields[header.IndexOf("slowdown")], CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task Each_exported_file_keeps_its_provenance_in_a_meta_json_sidecar()
    {
        string report = await Report();
        var (code, stdout, err) = await Cli.RunAsync("export", report, "--format", "csv", "--out", _d.File("csv"));
        Assert.True(code == 0, err);
        Assert.Contains(_d.File("csv/summary.meta.json"), stdout);
        foreach (var name in ReportExporter.FileNames)
        {
            var metadata = await ReportReader.ReadMetadataAsync(Path.Combine(report, name));
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(_d.File(Path.Combine("csv", Path.GetFileNameWithoutExtension(name) + ".meta.json"))));
            Assert.Equal(name, doc.RootElement.GetProperty("file").GetString());
            var sidecar = doc.RootElement.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
            Assert.Equal(metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, (string?)kv.Value)), sidecar.Select(kv => (kv.Key, kv.Value)));
        }

        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(_d.File("csv/summary.meta.json")));
        var meta = summary.RootElement.GetProperty("metadata");
        Assert.StartsWith("replay ", meta.GetProperty("replay.command").GetString());
        Assert.Equal(64, meta.GetProperty("replay.trace.sha256").GetString()!.Length);
        using var profile = JsonDocument.Parse(meta.GetProperty("replay.profile").GetString()!); // the whole profile, as JSON text
        Assert.Equal("skylake", profile.RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public async Task JSON_export_is_an_array_of_row_objects_per_file()
    {
        string report = await Report();
        var (code, _, err) = await Cli.RunAsync("export", report, "-f", "json", "--out", _d.File("json"));
        Assert.True(code == 0, err);

        var exits = await ReportReader.ReadExitsAsync(Path.Combine(report, "exits.parquet"));
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(_d.File("json/exits.json")));
        var rows = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(exits.Count, rows.Count);
        for (int i = 0; i < exits.Count; i++)
        {
            Assert.Equal(exits[i].Handler, rows[i].GetProperty("handler").GetString());
            Assert.Equal(exits[i].Count, rows[i].GetProperty("count").GetInt64());
            Assert.Equal(exits[i].Cycles, rows[i].GetProperty("cycles").GetDouble());
        }

        using var timeline = JsonDocument.Parse(await File.ReadAllTextAsync(_d.File("json/timeline.json")));
        Assert.All(timeline.RootElement.EnumerateArray(), w => Assert.Equal(JsonValueKind.Number, w.GetProperty("time_ns").ValueKind));
    }

    [Fact]
    public async Task A_missing_or_empty_report_folder_is_an_error_and_a_bad_format_a_usage_error()
    {
        var (code, _, err) = await Cli.RunAsync("export", _d.File("nope"));
        Assert.Equal(1, code);
        Assert.Contains("no such report folder", err);

        Directory.CreateDirectory(_d.File("empty"));
        (code, _, err) = await Cli.RunAsync("export", _d.File("empty"));
        Assert.Equal(1, code);
        Assert.Contains("no report files", err);

        (code, _, _) = await Cli.RunAsync("export", _d.File("empty"), "--format", "xml");
        Assert.Equal(2, code);
    }

    private async Task<string> Report()
    {
        string trace = _d.File("t.pq");
        await Cli.RunAsync("gen", "ctxswitch", "-o", trace, "--events", "5000");
        var (code, _, err) = await Cli.RunAsync(trace, "--engine", "all", "--out", _d.File("report"), "--window", "2000");
        Assert.True(code == 0, err);
        return _d.File("report");
    }
}
