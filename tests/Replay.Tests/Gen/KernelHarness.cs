using Replay.Engines.Trace;
using Replay.Kernel;

namespace Replay.Tests.Gen;

/// <summary>One emitted event, for exact comparisons.</summary>
internal readonly record struct Ev(TraceOp Op, int Vcpu, ulong Va, ulong Pa, ulong Value, bool User, uint Insns = 0)
{
    public override string ToString() => $"{Op} v{Vcpu} va=0x{Va:x} pa=0x{Pa:x} value=0x{Value:x}{(User ? " user" : "")}{(Insns != 0 ? $" insns={Insns}" : "")}";
}

/// <summary>
/// A <see cref="GuestKernel"/> whose events are collected in memory; its kernel does no work of its own unless asked
/// (<c>kernelWork</c>; otherwise <see cref="KernelCosts.None"/>), so exact event lists carry no <c>insns</c>.
/// </summary>
internal sealed class KernelHarness
{
    public KernelHarness(KernelOptions? options = null, bool kernelWork = false) =>
        Kernel = new GuestKernel((options ?? new KernelOptions()) with { Costs = kernelWork ? (options?.Costs ?? KernelCosts.Linux) : KernelCosts.None }, Collect);

    public GuestKernel Kernel { get; }

    public List<Ev> Events { get; } = [];

    /// <summary>A new process, made current on <paramref name="vcpu"/>.</summary>
    public Process Running(int vcpu = 0)
    {
        var p = Kernel.CreateProcess();
        Kernel.Run(vcpu, p);
        return p;
    }

    /// <summary>The events <paramref name="act"/> emits.</summary>
    public List<Ev> Take(Action act)
    {
        Kernel.Complete();
        int start = Events.Count;
        act();
        Kernel.Complete();
        return Events[start..];
    }

    public static string Ops(IEnumerable<Ev> events) => string.Join(" ", events.Select(e => e.Op.ToString().ToLowerInvariant()));

    private void Collect(EventBatch b)
    {
        for (int i = 0; i < b.Count; i++)
        {
            Events.Add(new Ev((TraceOp)b.Op[i], b.Vcpu[i], b.Va[i], b.Pa[i], b.Value[i], b.User[i], b.Insns[i]));
        }
    }
}
