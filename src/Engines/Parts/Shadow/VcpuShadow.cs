namespace Replay.Engines.Parts.Shadow;

/// <summary>Per-vCPU shadow state: roots, OOS slots, the emulation and early-unshadow memories.</summary>
internal sealed class VcpuShadow(int prevRoots)
{
    public const ulong None = ulong.MaxValue;

    /// <summary>The shadow of the loaded guest root (Xen <c>shadow_table[0]</c>, KVM <c>root</c>).</summary>
    public ShadowPage? Root;

    /// <summary>KVM: cached previous roots, most recently used first (<c>prev_roots</c>).</summary>
    public readonly ShadowPage?[] Prev = new ShadowPage?[prevRoots];

    /// <summary>Xen: OOS slots (<c>oos[SHADOW_OOS_PAGES]</c>), guest frame or <see cref="None"/>.</summary>
    public readonly ulong[] Oos = Enumerable.Repeat(None, ShadowOptions.XenOosSlots).ToArray();

    /// <summary>Xen: the last emulation succeeded (<c>last_write_emul_ok</c>) on <see cref="LastEmulLinear"/>.</summary>
    public bool LastWriteEmulOk;

    /// <summary>
    /// Xen <c>last_emulated_frame</c>: the linear frame (va &gt;&gt; 12) the last emulated write went through, as
    /// <see cref="PtEmulation.LinearFrame"/> gives it.
    /// </summary>
    public ulong LastEmulLinear = None;

    /// <summary>Xen: <c>last_emulated_mfn_for_unshadow</c>.</summary>
    public ulong LastUnshadowFrame = None;

    /// <summary>Xen: this vCPU was told its process is being torn down (<c>pagetable_dying</c>).</summary>
    public bool Dying;
}
