namespace Replay.Engines.Trace;

/// <summary>
/// A block of consecutive trace events in struct-of-arrays form, reused from row group to row group so the
/// replay loop allocates nothing per event. Optional columns absent from the file hold their SPEC §1 defaults
/// (vcpu 0, user false, width 8); <see cref="Time"/> is meaningful only when <see cref="HasTime"/>.
/// Fields that an op does not need hold 0.
/// </summary>
public sealed class EventBatch
{
    public EventBatch(int capacity)
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
    }

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

    /// <summary>Grows the arrays (contents discarded) so at least <paramref name="capacity"/> events fit.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (capacity <= Capacity)
        {
            return;
        }

        Capacity = capacity;
        Op = new byte[capacity];
        Vcpu = new ushort[capacity];
        Va = new ulong[capacity];
        Pa = new ulong[capacity];
        Value = new ulong[capacity];
        User = new bool[capacity];
        Width = new byte[capacity];
        Time = new long[capacity];
    }

    /// <summary>Appends one event (used by generators and tests; the reader fills the arrays directly).</summary>
    public void Add(TraceOp op, ulong va = 0, ulong pa = 0, ulong value = 0, int vcpu = 0, bool user = false, int width = 8, long time = 0)
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
    }

    private void Grow()
    {
        int cap = Math.Max(16, Capacity * 2);
        var b = new EventBatch(cap);
        Array.Copy(Op, b.Op, Count);
        Array.Copy(Vcpu, b.Vcpu, Count);
        Array.Copy(Va, b.Va, Count);
        Array.Copy(Pa, b.Pa, Count);
        Array.Copy(Value, b.Value, Count);
        Array.Copy(User, b.User, Count);
        Array.Copy(Width, b.Width, Count);
        Array.Copy(Time, b.Time, Count);
        (Op, Vcpu, Va, Pa, Value, User, Width, Time, Capacity) = (b.Op, b.Vcpu, b.Va, b.Pa, b.Value, b.User, b.Width, b.Time, cap);
    }
}
