using Replay.Engines.Trace;
using Replay.TraceIO;

namespace Replay.Tests.Trace;

/// <summary>A trace appears at its path complete or not at all.</summary>
public sealed class TraceWriterTests : IDisposable
{
    private readonly TraceFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static EventBatch OneRead()
    {
        var b = new EventBatch(1);
        b.Add(TraceOp.Read, va: 4096);
        return b;
    }

    [Fact]
    public async Task Completing_leaves_the_trace_and_no_temporary_file()
    {
        string path = _files.PathOf("done.pq");
        await using var writer = await TraceWriter.CreateAsync(path, new TraceInfo());
        await writer.WriteAsync(OneRead());
        Assert.True(File.Exists(writer.TempPath));
        Assert.False(File.Exists(path));

        await writer.CompleteAsync();

        Assert.True(File.Exists(path));
        Assert.False(File.Exists(writer.TempPath));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Disposing_without_completing_leaves_nothing()
    {
        string path = _files.PathOf("abandoned.pq");
        string temp;
        await using (var writer = await TraceWriter.CreateAsync(path, new TraceInfo(), rowGroupSize: 1))
        {
            await writer.WriteAsync(OneRead());
            temp = writer.TempPath;
        }

        Assert.False(File.Exists(path));
        Assert.False(File.Exists(temp));
    }

    [Fact]
    public async Task An_abandoned_rewrite_leaves_the_old_trace_in_place()
    {
        string path = await _files.WriteAsync("keep.pq", OneRead());
        byte[] before = await File.ReadAllBytesAsync(path);

        await using (var writer = await TraceWriter.CreateAsync(path, new TraceInfo()))
        {
            await writer.WriteAsync(OneRead());
        }

        Assert.Equal(before, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task An_empty_trace_is_valid()
    {
        string path = await _files.WriteAsync("empty.pq", new EventBatch(0));

        ReadBack back = await TraceFiles.ReadAllAsync(path);

        Assert.Equal(0, back.RowCount);
        Assert.Empty(back.FirstRows);
    }

    [Fact]
    public async Task An_unknown_op_is_refused_before_it_reaches_the_file()
    {
        var b = OneRead();
        b.Op[0] = 42;
        await using var writer = await TraceWriter.CreateAsync(_files.PathOf("bad.pq"), new TraceInfo());

        var e = await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteAsync(b));

        Assert.Contains("row 0, column 'op'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_writer_uses_required_columns_of_the_spec_types_and_zstd()
    {
        string path = await _files.WriteAsync("schema.pq", OneRead(), hasTime: true);

        await using var reader = await Parquet.ParquetReader.CreateAsync(path);
        using var rg = reader.OpenRowGroupReader(0);

        var fields = reader.Schema.GetDataFields();
        Assert.Equal(["op", "vcpu", "va", "pa", "value", "user", "width", "time", "insns"], fields.Select(f => f.Name));
        Assert.Equal([typeof(byte), typeof(ushort), typeof(ulong), typeof(ulong), typeof(ulong), typeof(bool), typeof(byte), typeof(long), typeof(uint)], fields.Select(f => f.ClrType));
        Assert.All(fields, f => Assert.False(f.IsNullable));
        Assert.All(fields, f => Assert.Equal(Parquet.Meta.CompressionCodec.ZSTD, rg.GetMetadata(f)!.MetaData!.Codec));
    }

    [Fact]
    public async Task Without_times_the_insns_column_is_still_written_last_as_required_uint32()
    {
        string path = await _files.WriteAsync("notime.pq", OneRead(), hasTime: false);

        await using var reader = await Parquet.ParquetReader.CreateAsync(path);
        using var rg = reader.OpenRowGroupReader(0);

        var fields = reader.Schema.GetDataFields();
        Assert.Equal(["op", "vcpu", "va", "pa", "value", "user", "width", "insns"], fields.Select(f => f.Name));
        Assert.Equal((typeof(uint), false), (fields[^1].ClrType, fields[^1].IsNullable));
        Assert.Equal(Parquet.Meta.CompressionCodec.ZSTD, rg.GetMetadata(fields[^1])!.MetaData!.Codec);
        Assert.Equal("1", reader.CustomMetadata["replay.trace.version"]);
    }
}
