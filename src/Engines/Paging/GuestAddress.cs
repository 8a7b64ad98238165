namespace Replay.Engines.Paging;

// Units at the model's edges (STYLE §6): a guest-virtual address, a guest-physical byte address and a guest frame
// number are all ulongs underneath, and mixing them (a gpa where a frame is meant, pa >> 12 forgotten) is the bug they
// prevent. Each is built explicitly from a raw value and read back with Value; hot loops keep raw ulongs and convert
// at the surface (Translation, and what an engine author or importer calls). Xen and KVM spell these gva/gpa/gfn.

/// <summary>A guest-virtual (linear) address, as the trace's <c>va</c> column holds it.</summary>
public readonly record struct Gva(ulong Value)
{
    /// <summary>The 4 KiB virtual page number (va &gt;&gt; 12).</summary>
    public ulong PageNumber => Value >> Pte.PageShift;

    /// <summary>The byte offset within the 4 KiB page.</summary>
    public ulong PageOffset => Value & Pte.PageOffsetMask;

    /// <summary>Index into the level-<paramref name="level"/> table (1 = PT … 5 = PML5).</summary>
    public int Index(int level) => Pte.Index(Value, level);

    public override string ToString() => $"gva 0x{Value:x}";
}

/// <summary>A guest-physical byte address.</summary>
public readonly record struct Gpa(ulong Value)
{
    /// <summary>The frame the address lies in (gpa &gt;&gt; 12).</summary>
    public Gfn Gfn => new(Value >> Pte.PageShift);

    /// <summary>The byte offset within the 4 KiB frame.</summary>
    public ulong PageOffset => Value & Pte.PageOffsetMask;

    /// <summary>The address <paramref name="offset"/> bytes further on (an entry in a table, a byte in a page).</summary>
    public Gpa Plus(ulong offset) => new(Value + offset);

    public override string ToString() => $"gpa 0x{Value:x}";
}

/// <summary>A guest frame number: a 4 KiB guest-physical page, gpa &gt;&gt; 12 (Xen's and KVM's <c>gfn</c>).</summary>
public readonly record struct Gfn(ulong Value)
{
    /// <summary>The gpa of the frame's first byte (gfn &lt;&lt; 12).</summary>
    public Gpa Address => new(Value << Pte.PageShift);

    /// <summary>The gpa of 8-byte entry <paramref name="index"/> when the frame holds a paging-structure table.</summary>
    public Gpa Entry(int index) => new((Value << Pte.PageShift) | ((ulong)(uint)index << Pte.EntryShift));

    public override string ToString() => $"gfn 0x{Value:x}";
}
