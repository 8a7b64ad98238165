using System.Runtime.Intrinsics;

namespace Replay.Engines.Trace;

/// <summary>
/// A block of consecutive trace events in struct-of-arrays form, reused from row group to row group so the
/// replay loop allocates nothing per event. Optional columns absent from the file hold their SPEC §1 defaults
/// (vcpu 0, user false, width 8, insns 0); <see cref="Time"/> is meaningful only when <see cref="HasTime"/>.
/// Fields that an op does not need hold 0.
/// </summary>
public sealed class EventBatch
{
    public EventBatch(int capacity) => Allocate(capacity);

    public int Capacity { get; private set; }


    /// <summary>Number of valid events in the arrays.</summary>
    public int Count { get; set; }

    /// <summary>Zero-based trace row index of element 0.</summary>
    public long FirstRow { get; set; }

    /// <summary>True when the trace has a <c>time</c> column.</summary>
    public bool HasTime { get; set; }

    public byte[] Op { get; private set; }
    public ushort[] Vcpu { get; private set; }
    public ulong[] Va { get; private set; }
    public ulong[] Pa { get; private set; }
    public ulong[] Value { get; private set; }
    public bool[] User { get; private set; }
    public byte[] Width { get; private set; }
    public long[] Time { get; private set; }

    /// <summary>
    /// SPEC §1 <c>insns</c>: instructions the row's vCPU retired since its previous event that the trace does not
    /// list as events (0 when the trace has no such column).
    /// </summary>
    public uint[] Insns { get; private set; }

    /// <summary>Grows the arrays (contents discarded) so at least <paramref name="capacity"/> events fit.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (capacity > Capacity)
        {
            Allocate(capacity);
        }
    }

    /// <summary>Appends one event (used by generators and tests; the reader fills the arrays directly).</summary>
    public void Add(TraceOp op, ulong va = 0, ulong pa = 0, ulong value = 0, int vcpu = 0, bool user = false, int width = 8, long time = 0, uint insns = 0)
    {
        if (Count == Capacity)
        {
            Grow();
        }

        int i = Count++;
        Op[i] = (byte)op;
        Vcpu[i] = (ushort)vcpu;
        Va[i] = va;
        Pa[i] = pa;
        Value[i] = value;
        User[i] = user;
        Width[i] = (byte)width;
        Time[i] = time;
        Insns[i] = insns;
    }

    /// <summary>Σ <see cref="Insns"/> over rows [<paramref name="start"/>, <paramref name="end"/>), vectorised (the driver sums every segment).</summary>
    public long SumInsns(int start, int end)
    {
        ReadOnlySpan<uint> s = Insns.AsSpan(start, end - start);
        ulong total = 0;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && s.Length >= Vector256<uint>.Count)
        {
            // Widen to 64-bit lanes before adding: a few rows of large counts would overflow 32-bit lanes.
            Vector256<ulong> acc = Vector256<ulong>.Zero;
            for (; i <= s.Length - Vector256<uint>.Count; i += Vector256<uint>.Count)
            {
                (Vector256<ulong> lo, Vector256<ulong> hi) = Vector256.Widen(Vector256.Create(s.Slice(i, Vector256<uint>.Count)));
                acc += lo + hi;
            }

            total = Vector256.Sum(acc);
        }

        for (; i < s.Length; i++)
        {
            total += s[i];
        }

        return (long)total;
    }

    private void Grow()
    {
        var old = (Op, Vcpu, Va, Pa, Value, User, Width, Time, Insns);
        Allocate(Math.Max(16, Capacity * 2));
        old.Op.AsSpan(0, Count).CopyTo(Op);
        old.Vcpu.AsSpan(0, Count).CopyTo(Vcpu);
        old.Va.AsSpan(0, Count).CopyTo(Va);
        old.Pa.AsSpan(0, Count).CopyTo(Pa);
        old.Value.AsSpan(0, Count).CopyTo(Value);
        old.User.AsSpan(0, Count).CopyTo(User);
        old.Width.AsSpan(0, Count).CopyTo(Width);
        old.Time.AsSpan(0, Count).CopyTo(Time);
        old.Insns.AsSpan(0, Count).CopyTo(Insns);
    }

    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(Op), nameof(Vcpu), nameof(Va), nameof(Pa), nameof(Value), nameof(User), nameof(Width), nameof(Time), nameof(Insns))]
    private void Allocate(int capacity)
    {
        Capacity = capacity;
        Op = new byte[capacity];
        Vcpu = new ushort[capacity];
        Va = new ulong[capacity];
        Pa = new ulong[capacity];
        Value = new ulong[capacity];
        User = new bool[capacity];
        Width = new byte[capacity];
        Time = new long[capacity];
        Insns = new uint[capacity];
    }
}
