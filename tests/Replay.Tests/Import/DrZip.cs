using System.Buffers.Binary;
using System.IO.Compression;
using Replay.Import;

namespace Replay.Tests.Import;

/// <summary>Writes small hand-made drmemtrace thread files (zip, members chunk.NNNN of packed 12-byte records).</summary>
internal static class DrZip
{
    public static DrRecord Thread(ulong tid) => new(22, 4, tid);

    public static DrRecord Pid(ulong pid) => new(24, 4, pid);

    public static DrRecord Timestamp(ulong us) => new(28, 2, us);

    public static DrRecord Cpu(ulong cpu) => new(28, 3, cpu);

    public static DrRecord Instr(ulong pc, ushort len) => new(10, len, pc);

    /// <summary>INSTR_NO_FETCH: an instruction that fetches nothing (a rep iteration).</summary>
    public static DrRecord NoFetch(ulong pc, ushort len) => new(29, len, pc);

    /// <summary>INSTR_BUNDLE of <paramref name="lengths"/>.Length (at most 8) instructions right after the previous one.</summary>
    public static DrRecord Bundle(params byte[] lengths)
    {
        Span<byte> addr = stackalloc byte[8];
        lengths.CopyTo(addr);
        return new(17, (ushort)lengths.Length, BinaryPrimitives.ReadUInt64LittleEndian(addr));
    }

    public static DrRecord Read(ulong va, ushort size) => new(0, size, va);

    public static DrRecord Write(ulong va, ushort size) => new(1, size, va);

    /// <summary>A thread file: header, thread, pid, then <paramref name="body"/>, thread exit, footer; one member per chunk given.</summary>
    public static void WriteThread(string path, ulong tid, ulong pid, params DrRecord[][] chunks)
    {
        var first = new List<DrRecord> { new(25, 0, 5), Thread(tid), Pid(pid) };
        first.AddRange(chunks[0]);
        var all = new List<byte[]> { Pack(first) };
        for (int i = 1; i < chunks.Length; i++)
        {
            all.Add(Pack(chunks[i]));
        }

        all[^1] = [.. all[^1], .. Pack([new(23, 4, tid), new(26, 0, 0)])];
        WriteMembers(path, all.Select((b, i) => ($"chunk.{i:D4}", b)).ToArray());
    }

    public static void WriteMembers(string path, params (string Name, byte[] Bytes)[] members)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, bytes) in members)
        {
            using var s = zip.CreateEntry(name).Open();
            s.Write(bytes);
        }
    }

    public static byte[] Pack(IReadOnlyList<DrRecord> records)
    {
        var bytes = new byte[records.Count * 12];
        for (int i = 0; i < records.Count; i++)
        {
            var b = bytes.AsSpan(i * 12);
            BinaryPrimitives.WriteUInt16LittleEndian(b, records[i].Type);
            BinaryPrimitives.WriteUInt16LittleEndian(b[2..], records[i].Size);
            BinaryPrimitives.WriteUInt64LittleEndian(b[4..], records[i].Addr);
        }

        return bytes;
    }
}
