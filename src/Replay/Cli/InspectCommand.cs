using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Replay.Driver;
using Replay.Engines.Paging;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Cli;

/// <summary><c>replay inspect TRACE [--json]</c>: what a trace holds, and whether it is well formed.</summary>
internal static class InspectCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,

        // Metadata values hold JSON and file paths; stdout is no HTML page, so keep their quotes readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var trace = new Argument<string>("trace") { Description = "Trace file." };
        var json = new Option<bool>("--json") { Description = "Print the description as JSON instead of text." };
        var cmd = new Command("inspect", "Rows, op histogram, instructions, vCPUs, address spaces, page-table frames, time span, metadata and well-formedness warnings.") { trace, json };
        cmd.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(trace)!;
            Inspection r = await InspectAsync(path, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                stdout.WriteLine(JsonSerializer.Serialize(r, Json));
            }
            else
            {
                PrintText(stdout, r);
            }

            _ = stderr;
            return CliApp.Success;
        });
        return cmd;
    }

    private static async Task<Inspection> InspectAsync(string path, CancellationToken ct)
    {
        await using var reader = await TraceReader.OpenAsync(path, ct).ConfigureAwait(false);
        var checker = new TraceChecker(Path.GetFileName(path), reader.Info, strict: false);
        var ops = new long[TraceOps.MaxOp + 1];
        var roots = new HashSet<ulong>();
        var tableFrames = new HashSet<ulong>();
        var vcpus = new HashSet<int>();
        long insns = 0;
        long? firstTime = null, lastTime = null;
        var batch = new EventBatch(1 << 16);
        while (await reader.ReadNextAsync(batch, ct).ConfigureAwait(false))
        {
            checker.Check(batch, 0, batch.Count);
            insns += batch.SumInsns(0, batch.Count);
            for (int i = 0; i < batch.Count; i++)
            {
                byte op = batch.Op[i];
                ops[op]++;
                vcpus.Add(batch.Vcpu[i]);
                if (op == (byte)TraceOp.Cr3)
                {
                    roots.Add(batch.Value[i] & Pte.AddrMask);
                }
                else if (op is (byte)TraceOp.PtWrite or (byte)TraceOp.PtInit)
                {
                    tableFrames.Add(batch.Pa[i] >> Pte.PageShift);
                }

                if (batch.HasTime)
                {
                    firstTime ??= batch.Time[i];
                    lastTime = batch.Time[i];
                }
            }
        }

        var info = reader.Info;
        var histogram = new Dictionary<string, long>();
        for (int op = 0; op < ops.Length; op++)
        {
            histogram[TraceOps.Names[op]] = ops[op];
        }

        return new Inspection(path, reader.RowCount, reader.RowGroupCount, histogram,
            ops[(int)TraceOp.Fetch] + insns, insns, info.Vcpus, vcpus.Count, info.PagingLevels, info.Pcid, info.MemoryBytes,
            roots.Count, tableFrames.Count, firstTime, lastTime,
            new SortedDictionary<string, string>(reader.Metadata.ToDictionary(), StringComparer.Ordinal),
            checker.Warnings, checker.FirstWarnings.Select(w => new InspectWarning(w.Row, w.Message)).ToList());
    }

    private static void PrintText(TextWriter stdout, Inspection r)
    {
        var c = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Create(c, $"{r.Path}: {r.Rows:N0} rows in {r.RowGroups} row group(s)"));
        stdout.WriteLine("ops:");
        foreach (string name in TraceOps.Names)
        {
            stdout.WriteLine(string.Create(c, $"  {name,-8} {r.Ops[name],14:N0}"));
        }

        stdout.WriteLine(string.Create(c, $"instructions: {r.Instructions:N0} ({r.Ops["fetch"]:N0} fetches + {r.Insns:N0} insns)"));
        stdout.WriteLine(string.Create(c, $"vcpus: {r.VcpusDeclared} declared, {r.VcpusActive} active"));
        stdout.WriteLine(string.Create(c, $"paging: {r.PagingLevels}-level, PCID {(r.Pcid ? "on" : "off")}, memory {r.MemoryBytes / (1024 * 1024):N0} MiB"));
        stdout.WriteLine(string.Create(c, $"address spaces (distinct CR3 roots): {r.AddressSpaces:N0}"));
        stdout.WriteLine(string.Create(c, $"page-table frames written: {r.PageTableFrames:N0}"));
        stdout.WriteLine(r.FirstTimeNs is null ? "time: none" : string.Create(c, $"time: {r.FirstTimeNs:N0} .. {r.LastTimeNs:N0} ns ({(r.LastTimeNs - r.FirstTimeNs) / 1e9:0.######} s)"));
        stdout.WriteLine("metadata:");
        foreach (var (k, v) in r.Metadata)
        {
            stdout.WriteLine($"  {k} = {v}");
        }

        stdout.WriteLine(string.Create(c, $"warnings: {r.Warnings:N0}"));
        foreach (var w in r.FirstWarnings)
        {
            stdout.WriteLine($"  row {w.Row}: {w.Message}");
        }
    }

    /// <summary>
    /// What inspect reports (the <c>--json</c> object, snake_case). <see cref="Instructions"/> is SPEC §5's
    /// <c>instructions</c>: fetch events plus <see cref="Insns"/>, the Σ of the <c>insns</c> column.
    /// </summary>
    private sealed record Inspection(string Path, long Rows, int RowGroups, Dictionary<string, long> Ops, long Instructions, long Insns,
        int VcpusDeclared, int VcpusActive, int PagingLevels, bool Pcid, ulong MemoryBytes, int AddressSpaces, int PageTableFrames,
        long? FirstTimeNs, long? LastTimeNs, SortedDictionary<string, string> Metadata, long Warnings, List<InspectWarning> FirstWarnings);

    private sealed record InspectWarning(long Row, string Message);
}
