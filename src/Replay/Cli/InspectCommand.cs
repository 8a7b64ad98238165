using System.CommandLine;
using System.Globalization;
using Replay.Driver;
using Replay.Engines.Guest;
using Replay.Engines.Trace;
using Replay.Trace;

namespace Replay.Cli;

/// <summary><c>replay inspect TRACE</c>: what a trace holds, and whether it is well formed.</summary>
internal static class InspectCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var trace = new Argument<string>("trace") { Description = "Trace file." };
        var cmd = new Command("inspect", "Rows, op histogram, vCPUs, address spaces, page-table frames, time span, metadata and well-formedness warnings.") { trace };
        cmd.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(trace)!;
            await using var reader = await TraceReader.OpenAsync(path, ct).ConfigureAwait(false);
            var checker = new TraceChecker(Path.GetFileName(path), reader.Info, strict: false);
            var ops = new long[TraceOps.MaxOp + 1];
            var roots = new HashSet<ulong>();
            var tableFrames = new HashSet<ulong>();
            var vcpus = new HashSet<int>();
            long? firstTime = null, lastTime = null;
            var batch = new EventBatch(1 << 16);
            while (await reader.ReadNextAsync(batch, ct).ConfigureAwait(false))
            {
                checker.Check(batch, 0, batch.Count);
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
                        tableFrames.Add(batch.Pa[i] >> 12);
                    }

                    if (batch.HasTime)
                    {
                        firstTime ??= batch.Time[i];
                        lastTime = batch.Time[i];
                    }
                }
            }

            var c = CultureInfo.InvariantCulture;
            stdout.WriteLine(string.Create(c, $"{path}: {reader.RowCount:N0} rows in {reader.RowGroupCount} row group(s)"));
            stdout.WriteLine("ops:");
            for (int op = 0; op < ops.Length; op++)
            {
                stdout.WriteLine(string.Create(c, $"  {TraceOps.Names[op],-8} {ops[op],14:N0}"));
            }

            var info = reader.Info;
            stdout.WriteLine(string.Create(c, $"vcpus: {info.Vcpus} declared, {vcpus.Count} active"));
            stdout.WriteLine(string.Create(c, $"paging: {info.PagingLevels}-level, PCID {(info.Pcid ? "on" : "off")}, memory {info.MemoryBytes / (1024 * 1024):N0} MiB"));
            stdout.WriteLine(string.Create(c, $"address spaces (distinct CR3 roots): {roots.Count:N0}"));
            stdout.WriteLine(string.Create(c, $"page-table frames written: {tableFrames.Count:N0}"));
            stdout.WriteLine(firstTime is null ? "time: none" : string.Create(c, $"time: {firstTime:N0} .. {lastTime:N0} ns ({(lastTime - firstTime) / 1e9:0.######} s)"));
            stdout.WriteLine("metadata:");
            foreach (var (k, v) in reader.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                stdout.WriteLine($"  {k} = {v}");
            }

            stdout.WriteLine(string.Create(c, $"warnings: {checker.Warnings:N0}"));
            foreach (var (row, message) in checker.FirstWarnings)
            {
                stdout.WriteLine($"  row {row}: {message}");
            }

            _ = stderr;
            return CliApp.Success;
        });
        return cmd;
    }
}
