using System.Buffers.Binary;

namespace Replay.Tests.Import.Xentrace;

/// <summary>Builds xentrace files byte by byte: per-CPU blocks of records in the layout xentrace writes (public/trace.h t_rec).</summary>
internal sealed class XenTraceBuilder
{
    private readonly List<byte> _file = [];
    private List<byte>? _block;
    private int _cpu;

    /// <summary>Starts a block of <paramref name="cpu"/>'s records (closed by the next <see cref="Cpu"/> or <see cref="Bytes"/>).</summary>
    public XenTraceBuilder Cpu(int cpu)
    {
        Flush();
        _cpu = cpu;
        _block = [];
        return this;
    }

    /// <summary>A record with a TSC.</summary>
    public XenTraceBuilder At(ulong tsc, uint ev, params uint[] words) => Add(ev, tsc, words);

    /// <summary>A record without a TSC (it takes its CPU's previous one).</summary>
    public XenTraceBuilder NoTsc(uint ev, params uint[] words) => Add(ev, null, words);

    /// <summary>A runstate change of d<paramref name="dom"/>v<paramref name="vcpu"/> (TRC_SCHED_MIN | old &lt;&lt; 8 | new &lt;&lt; 4 | 1).</summary>
    public XenTraceBuilder Runstate(ulong tsc, int dom, int vcpu, int old, int next) =>
        At(tsc, 0x00021001u | ((uint)old << 8) | ((uint)next << 4), ((uint)dom << 16) | (uint)vcpu);

    /// <summary>A 64-bit VMX exit with basic reason <paramref name="reason"/> (TRC_HVM_VMX_EXIT64 {reason, rip64}).</summary>
    public XenTraceBuilder Exit(ulong tsc, uint reason) => At(tsc, 0x00081102, reason, 0xffff8000, 0x1000);

    public XenTraceBuilder Entry(ulong tsc) => At(tsc, 0x00081001);

    public byte[] Bytes()
    {
        Flush();
        return [.. _file];
    }

    public void WriteTo(string path) => File.WriteAllBytes(path, Bytes());

    private XenTraceBuilder Add(uint ev, ulong? tsc, uint[] words)
    {
        var b = _block ?? throw new InvalidOperationException("Cpu() first.");
        Span<byte> buf = stackalloc byte[4 + 8 + (4 * 7)];
        uint header = ev | ((uint)words.Length << 28) | (tsc is null ? 0 : 1u << 31);
        BinaryPrimitives.WriteUInt32LittleEndian(buf, header);
        int n = 4;
        if (tsc is ulong t)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buf[n..], t);
            n += 8;
        }

        foreach (uint w in words)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buf[n..], w);
            n += 4;
        }

        b.AddRange(buf[..n]);
        return this;
    }

    private void Flush()
    {
        if (_block is null)
        {
            return;
        }

        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(head, 0x0001f003u | (2u << 28));
        BinaryPrimitives.WriteInt32LittleEndian(head[4..], _cpu);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], (uint)_block.Count);
        _file.AddRange(head);
        _file.AddRange(_block);
        _block = null;
    }
}
