using Microsoft.Win32.SafeHandles;
using Parquet;
using Parquet.Schema;
using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>
/// The direct reader takes every column chunk of a REQUIRED, PLAIN file (what TraceWriter writes, with any
/// of the codecs it knows) and declines other shapes so Parquet.Net reads them instead.
/// </summary>
public sealed class DirectChunkReaderTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static EventBatch Sample(int n)
    {
        var b = new EventBatch(n);
        for (int i = 0; i < n; i++)
        {
            b.Add((TraceOp)(i % 10 == 4 ? 4 : i % 3), va: ulong.MaxValue - (ulong)i, pa: (ulong)i << 12, value: (ulong)i * 7,
                vcpu: i % 3, user: i % 5 == 0, width: i % 10 == 4 ? 2 : 8, time: i * 10L, insns: i % 7 == 0 ? uint.MaxValue - (uint)i : (uint)i);
        }

        return b;
    }

    [Theory]
    [InlineData(CompressionMethod.Zstd)]
    [InlineData(CompressionMethod.Snappy)]
    [InlineData(CompressionMethod.None)]
    public async Task Every_column_of_a_required_plain_file_is_read_directly(CompressionMethod codec)
    {
        EventBatch written = Sample(1000);
        string path = await WriteRequiredAsync(written, codec);
        var read = new EventBatch(1000);

        await using ParquetReader reader = await ParquetReader.CreateAsync(path);
        using SafeFileHandle file = File.OpenHandle(path);
        using var direct = new DirectChunkReader(file);
        using ParquetRowGroupReader rg = reader.OpenRowGroupReader(0);
        foreach (DataField field in reader.Schema.GetDataFields())
        {
            var column = (TraceColumn)Array.IndexOf(TraceColumns.Names, field.Name);
            Array target = Target(read, column);
            Assert.Null(direct.Load(rg.GetMetadata(field)!, 1000, RandomAccess.GetLength(file)));
            Assert.True(direct.TryRead(rg.GetMetadata(field)!, field, column, target, 1000, out RowError? error), field.Name);
            Assert.Null(error);
            Assert.Equal(Target(written, column).Cast<object>().Take(1000), target.Cast<object>().Take(1000));
        }
    }

    [Fact]
    public async Task Dictionary_encoded_optional_columns_are_declined()
    {
        string path = await _files.DuckAsync("dict.pq", "SELECT (i % 3)::UTINYINT AS op FROM range(100) t(i)");

        await using ParquetReader reader = await ParquetReader.CreateAsync(path);
        using SafeFileHandle file = File.OpenHandle(path);
        using var direct = new DirectChunkReader(file);
        using ParquetRowGroupReader rg = reader.OpenRowGroupReader(0);
        DataField op = reader.Schema.GetDataFields()[0];
        Assert.Null(direct.Load(rg.GetMetadata(op)!, 100, RandomAccess.GetLength(file)));

        Assert.False(direct.TryRead(rg.GetMetadata(op)!, op, TraceColumn.Op, new byte[100], 100, out _));
    }

    private static Array Target(EventBatch b, TraceColumn column) => column switch
    {
        TraceColumn.Op => b.Op,
        TraceColumn.Vcpu => b.Vcpu,
        TraceColumn.Va => b.Va,
        TraceColumn.Pa => b.Pa,
        TraceColumn.Value => b.Value,
        TraceColumn.User => b.User,
        TraceColumn.Width => b.Width,
        TraceColumn.Insns => b.Insns,
        _ => b.Time,
    };

    private async Task<string> WriteRequiredAsync(EventBatch b, CompressionMethod codec)
    {
        string path = _files.PathOf($"required-{codec}.pq");
        DataField[] fields = TraceColumns.WriterFields(hasTime: true);
        await using FileStream stream = File.Create(path);
        var options = new ParquetOptions { CompressionMethod = codec, CompressionLevel = System.IO.Compression.CompressionLevel.Fastest };
        await using ParquetWriter writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, options);
        using ParquetRowGroupWriter rg = writer.CreateRowGroup();
        int n = b.Count;
        await rg.WriteAsync(fields[0], new ReadOnlyMemory<byte>(b.Op, 0, n));
        await rg.WriteAsync(fields[1], new ReadOnlyMemory<ushort>(b.Vcpu, 0, n));
        await rg.WriteAsync(fields[2], new ReadOnlyMemory<ulong>(b.Va, 0, n));
        await rg.WriteAsync(fields[3], new ReadOnlyMemory<ulong>(b.Pa, 0, n));
        await rg.WriteAsync(fields[4], new ReadOnlyMemory<ulong>(b.Value, 0, n));
        await rg.WriteAsync(fields[5], new ReadOnlyMemory<bool>(b.User, 0, n));
        await rg.WriteAsync(fields[6], new ReadOnlyMemory<byte>(b.Width, 0, n));
        await rg.WriteAsync(fields[7], new ReadOnlyMemory<long>(b.Time, 0, n));
        await rg.WriteAsync(fields[8], new ReadOnlyMemory<uint>(b.Insns, 0, n));
        rg.CompleteValidate();
        return path;
    }
}
