using System.Buffers.Binary;
using System.Reflection;
using Parquet;
using Parquet.Meta;

namespace Replay.Tests.Trace;

/// <summary>
/// Rewrites a Parquet file's footer: the pages stay byte for byte, the footer is the file's own metadata as an edit
/// leaves it. Parquet.Net keeps its Thrift serializer internal, so tests call it by reflection.
/// </summary>
internal static class FooterSurgery
{
    public static async Task<byte[]> RewriteAsync(string path, Action<FileMetaData> edit)
    {
        byte[] bytes = await File.ReadAllBytesAsync(path);
        int footerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 8));
        FileMetaData meta;
        await using (ParquetReader reader = await ParquetReader.CreateAsync(path))
        {
            meta = reader.Metadata!;
        }

        edit(meta);
        Assembly parquet = typeof(FileMetaData).Assembly;
        using var footer = new MemoryStream();
        object writer = Activator.CreateInstance(parquet.GetType("Parquet.Meta.Proto.ThriftCompactProtocolWriter", throwOnError: true)!,
            BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, [footer], null)!;
        typeof(FileMetaData).GetMethod("Write", BindingFlags.Instance | BindingFlags.NonPublic)!.Invoke(meta, [writer]);

        using var output = new MemoryStream();
        output.Write(bytes.AsSpan(0, bytes.Length - 8 - footerLength));
        output.Write(footer.ToArray());
        byte[] length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, (int)footer.Length);
        output.Write(length);
        output.Write("PAR1"u8);
        return output.ToArray();
    }
}
