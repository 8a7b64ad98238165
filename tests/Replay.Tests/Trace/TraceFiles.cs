using DuckDB.NET.Data;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>A temporary folder of trace files for one test class, deleted when disposed.</summary>
public sealed class TraceFiles : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "replay-trace-" + Guid.NewGuid().ToString("N")[..12]);

    public TraceFiles() => Directory.CreateDirectory(_dir);

    public string PathOf(string name) => Path.Combine(_dir, name);

    /// <summary>Writes <paramref name="batch"/> with <see cref="TraceWriter"/> and returns the path.</summary>
    public async Task<string> WriteAsync(string name, EventBatch batch, TraceInfo? info = null, bool hasTime = false, int rowGroupSize = 1 << 20)
    {
        string path = PathOf(name);
        await using var writer = await TraceWriter.CreateAsync(path, info ?? new TraceInfo { Vcpus = 4 }, hasTime, rowGroupSize);
        await writer.WriteAsync(batch);
        await writer.CompleteAsync();
        return path;
    }

    /// <summary>Has DuckDB write the result of <paramref name="select"/> as Parquet with the given COPY options.</summary>
    public async Task<string> DuckAsync(string name, string select, string options = "COMPRESSION snappy")
    {
        string path = PathOf(name);
        using var connection = new DuckDBConnection("Data Source=:memory:");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = $"COPY ({select}) TO '{path}' (FORMAT parquet, {options})";
        await command.ExecuteNonQueryAsync();
        return path;
    }

    /// <summary>Reads a whole trace back into one batch (tests only: memory grows with the trace).</summary>
    public static async Task<ReadBack> ReadAllAsync(string path)
    {
        await using var reader = await TraceReader.OpenAsync(path);
        var all = new EventBatch(16);
        var firstRows = new List<long>();
        var batch = new EventBatch(0);
        while (await reader.ReadNextAsync(batch))
        {
            firstRows.Add(batch.FirstRow);
            for (int i = 0; i < batch.Count; i++)
            {
                long time = batch.HasTime ? batch.Time[i] : 0;
                all.Add((TraceOp)batch.Op[i], batch.Va[i], batch.Pa[i], batch.Value[i], batch.Vcpu[i], batch.User[i], batch.Width[i], time, batch.Insns[i]);
            }

            all.HasTime = batch.HasTime;
        }

        return new ReadBack(reader.Info, reader.HasTime, reader.RowCount, reader.RowGroupCount, all, firstRows);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Everything a test wants to know about a trace read back whole.</summary>
public sealed record ReadBack(TraceInfo Info, bool HasTime, long RowCount, int RowGroupCount, EventBatch Rows, List<long> FirstRows);
