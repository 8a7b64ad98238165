namespace Replay.Engines.Parts.Shadow;

/// <summary>
/// What the shadow code knows of one guest frame that is a shadowed page table (Xen's <c>shadow_flags</c> and
/// OOS state in <c>struct page_info</c>; KVM's gfn-indexed shadow pages and write-tracking count).
/// </summary>
internal sealed class FrameState
{
    /// <summary>The frame's shadows (never splinters: those shadow a data page, not a table).</summary>
    public readonly List<ShadowPage> Shadows = new(1);

    /// <summary>Out of sync (Xen OOS L1) or unsync (KVM): writable to the guest, shadow possibly stale.</summary>
    public bool Oos;

    /// <summary>Xen: the vCPU whose OOS slots hold the frame.</summary>
    public int OosVcpu;

    /// <summary>Xen: the frame's contents when it went out of sync (<c>oos_snapshot</c>).</summary>
    public ulong[]? Snapshot;

    /// <summary>The frame is write-protected: shadowed and in sync.</summary>
    public bool Protected => Shadows.Count > 0 && !Oos;

    /// <summary>Shadowed solely as one L1: the only kind of page allowed out of sync (Xen <c>sh_unsync</c>; KVM <c>mmu_try_to_unsync_pages</c>).</summary>
    public bool MayUnsync => Shadows.Count == 1 && Shadows[0].Type == ShadowType.L1;

    public ShadowPage? Find(ShadowType type)
    {
        foreach (var s in Shadows)
        {
            if (s.Type == type)
            {
                return s;
            }
        }

        return null;
    }
}
