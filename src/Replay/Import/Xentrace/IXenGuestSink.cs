namespace Replay.Import.Xentrace;

/// <summary>
/// The guest-visible memory events a xentrace holds, in trace order, attributed to the vCPU running on the record's
/// physical CPU. Each is called from inside the exit it belongs to.
/// </summary>
internal interface IXenGuestSink
{
    /// <summary><c>TRC_HVM_CR_WRITE</c> with cr = 3: the guest loaded CR3 (written only when CR3 loads exit: shadow paging).</summary>
    void Cr3(XenVcpu v, ulong value);

    /// <summary><c>TRC_HVM_PF_XEN</c>: a #PF the hypervisor took for its shadows at <paramref name="va"/> with x86 error code <paramref name="errorCode"/>.</summary>
    void ShadowFault(XenVcpu v, ulong va, uint errorCode);

    /// <summary><c>TRC_HVM_INVLPG</c>: the guest invalidated <paramref name="va"/>.</summary>
    void Invlpg(XenVcpu v, ulong va);

    /// <summary><c>TRC_HVM_NPF</c>: an EPT violation at <paramref name="gpa"/> with exit qualification <paramref name="qualification"/> (bit 0 read, 1 write, 2 fetch).</summary>
    void EptViolation(XenVcpu v, ulong gpa, uint qualification);

    /// <summary><c>TRC_PV_PTWR_EMULATION</c>: a PV guest's write of <paramref name="pte"/> to a page table at linear address <paramref name="addr"/>, emulated.</summary>
    void PtwrEmulation(XenVcpu v, ulong addr, ulong pte);
}
