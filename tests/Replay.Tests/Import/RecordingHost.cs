using Replay.Engines.Trace;
using Replay.Import;

namespace Replay.Tests.Import;

/// <summary>An <see cref="IProcessHost"/> that records the calls an importer makes (counts always, the call list on request).</summary>
internal sealed class RecordingHost(int vcpus = 1, bool keepCalls = false) : IProcessHost
{
    private int _processes;
    private readonly int[] _current = Enumerable.Repeat(-1, vcpus).ToArray();

    public int Vcpus { get; } = vcpus;

    public long Events { get; private set; }

    public List<string> Calls { get; } = [];

    public Dictionary<TraceOp, long> Accesses { get; } = new() { [TraceOp.Read] = 0, [TraceOp.Write] = 0, [TraceOp.Fetch] = 0 };

    /// <summary>Context switches: Run calls that changed the process on a vCPU.</summary>
    public int Switches { get; private set; }

    public int CreateProcess()
    {
        Log($"create {_processes}");
        return _processes++;
    }

    public int CreateProcessWithRoot(ulong rootFrame)
    {
        Log($"create {_processes} root 0x{rootFrame:x}");
        return _processes++;
    }

    public void Run(int vcpu, int process)
    {
        if (_current[vcpu] != process)
        {
            Switches++;
            _current[vcpu] = process;
            Log($"run {vcpu} {process}");
        }
    }

    public void Access(int vcpu, TraceOp kind, ulong va, int size)
    {
        Accesses[kind]++;
        Events++;
        Log($"{kind} {vcpu} {va:x} {size}");
    }

    /// <summary>Instructions retired without an access of their own, over all vCPUs.</summary>
    public long Retired { get; private set; }

    public void Retire(int vcpu, long instructions)
    {
        Retired += instructions;
        Log($"retire {vcpu} {instructions}");
    }

    public void Mark(ulong id) => Log($"mark {id}");

    public void Exit(int process) => Log($"exit {process}");

    public void Complete() => Log("complete");

    private void Log(string call)
    {
        if (keepCalls)
        {
            Calls.Add(call);
        }
    }
}
