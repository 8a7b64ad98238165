using Replay.Engines.Caches;
using Replay.Engines.Tlb;

namespace Replay.Engines.Guest;

/// <summary>
/// The guest machine one engine replays on (SPEC §2): guest memory, and per vCPU its CR3, current PCID,
/// TLB hierarchy and paging-structure caches.
/// </summary>
public sealed class GuestMachine
{
    public GuestMachine(MachineConfig config)
    {
        Config = config;
        Vcpus = new VcpuState[Math.Max(1, config.Vcpus)];
        for (int i = 0; i < Vcpus.Length; i++)
        {
            Vcpus[i] = new VcpuState(i, config.Tlb);
        }

        Caches = new MemoryHierarchy(config.Tlb.Caches, Vcpus.Length);
        Pressure = config.Pressure.Any ? new PressureSource(Caches, config.Pressure, Vcpus.Length) : null;
    }

    public MachineConfig Config { get; }

    public GuestMemory Memory { get; } = new();

    public VcpuState[] Vcpus { get; }

    /// <summary>The data caches the hardware walker reads entries through (this engine's own: its tables compete with the trace's data).</summary>
    public MemoryHierarchy Caches { get; }

    /// <summary>Where the unlisted work's data lines come from; null when the trace lists all its accesses.</summary>
    public PressureSource? Pressure { get; }

    public int Levels => Config.PagingLevels;

    /// <summary>Total second-level TLB hits over every vCPU.</summary>
    public long StlbHits => Vcpus.Sum(v => v.Tlb.StlbHits);
}

/// <summary>One vCPU's architectural MMU state.</summary>
public sealed class VcpuState(int id, TlbGeometry geometry)
{
    /// <summary>The vCPU's number (its index in <see cref="GuestMachine.Vcpus"/>).</summary>
    public int Id { get; } = id;

    /// <summary>The last CR3 value loaded (root in bits 51:12).</summary>
    public ulong Cr3;

    /// <summary>The current PCID (0 when PCID is off).</summary>
    public ushort Pcid;

    public VcpuTlb Tlb { get; } = new(geometry);

    public PagingStructureCache Psc { get; } = new(geometry);
}
