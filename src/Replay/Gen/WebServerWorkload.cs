using Replay.Engines.Trace;
using Replay.Kernel;
using Replay.Gen.Model;

namespace Replay.Gen;

/// <summary>
/// A pre-forked web server serving small static files (Apache prefork, nginx workers) to a load generator on the same
/// guest (ab over loopback): four workers per vCPU take requests in turn; per request the client sends and the worker
/// wakes (a switch to it), reads the request, sends the file and waits again (a switch back), the kernel's network
/// stack doing most of the work. Per-request instructions, system calls and switches are measured on a real nginx
/// under ab (traces/README.md, "Calibration"); the small code and data footprints hardly miss the TLB.
/// </summary>
internal static class WebServerWorkload
{
    private const int Workers = 4;

    /// <summary>nginx's resident image (text from the binary and its libraries, a small heap of connection buffers).</summary>
    private static readonly ImageSpec WorkerImage = new(TextPages: 320, DataPages: 64, HeapPages: 256, StackPages: 8);

    private static readonly ImageSpec ClientImage = new(TextPages: 96, DataPages: 32, HeapPages: 64, StackPages: 4);

    /// <summary>Measured per request (nginx worker, keep-alive, cachegrind and perf): 16,000 user instructions, and ~41 µs of kernel time at 3.7 G instructions per second.</summary>
    private const long WorkerUser = 16_000;
    private const long WorkerKernel = 144_000;
    private const int WorkerSyscalls = 6;

    /// <summary>The client's share: its send and receive [est] as small as the server's user work.</summary>
    private const long ClientUser = 8_000;
    private const long ClientKernel = 20_000;
    private const int ClientSyscalls = 3;

    private const int Program = 20;

    private static readonly AccessMix Serve = new() { InsnsPerAccess = 400, Fetch = 0.4, Write = 0.3, Cold = 0.05, Grow = 0, Hot = 32 };

    public static readonly Workload Definition = new(
        "webserver",
        "A pre-forked web server (Apache prefork, nginx workers) under a load generator: a switch to a worker and back per request, the network stack's kernel work, small footprints.",
        new Dictionary<ulong, string> { [1] = "startup", [2] = "serve" },
        Generate);

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        int vcpus = k.Options.Vcpus;
        var master = new ProcessModel(k.CreateProcess(program: Program), WorkerImage);
        k.Mark(1);
        k.Run(0, master.Process);
        master.Populate(k, 0, master.Text, WorkerImage.TextPages, TraceOp.Fetch, rng);
        master.Populate(k, 0, master.Data, WorkerImage.DataPages, TraceOp.Write, rng);
        master.Populate(k, 0, master.Heap, WorkerImage.HeapPages, TraceOp.Write, rng);
        master.Populate(k, 0, master.Stack, WorkerImage.StackPages, TraceOp.Write, rng);
        var workers = new ProcessModel[vcpus, Workers];
        var clients = new ProcessModel[vcpus];
        for (int v = 0; v < vcpus; v++)
        {
            for (int w = 0; w < Workers; w++)
            {
                k.Syscall(0);
                var worker = new ProcessModel(k.Fork(0, master.Process), WorkerImage);
                k.Run(v, worker.Process);
                worker.Populate(k, v, worker.Heap, WorkerImage.HeapPages, TraceOp.Write, rng); // its own buffers (copy-on-write)
                worker.Populate(k, v, worker.Stack, WorkerImage.StackPages, TraceOp.Write, rng);
                workers[v, w] = worker;
            }

            clients[v] = new ProcessModel(k.CreateProcess(v, program: Program + 1), ClientImage);
        }

        k.Mark(2);
        for (long request = 0; k.Events < events; request++)
        {
            int v = (int)(request % vcpus);
            var client = clients[v];
            k.Run(v, client.Process);
            Work(k, v, client, ClientUser, ClientKernel, ClientSyscalls, rng);
            var worker = workers[v, (int)(request / vcpus % Workers)];
            k.Run(v, worker.Process);
            Work(k, v, worker, WorkerUser, WorkerKernel, WorkerSyscalls, rng);
        }
    }

    /// <summary>A process's part of one request: system calls carrying the kernel's share, user work between them.</summary>
    private static void Work(GuestKernel k, int vcpu, ProcessModel m, long user, long kernel, int syscalls, Random rng)
    {
        for (int i = 0; i < syscalls; i++)
        {
            k.Syscall(vcpu);
            k.Retire(vcpu, kernel / syscalls);
            m.Work(k, vcpu, user / syscalls, Serve, rng);
        }
    }
}
