using Replay.Engines.Trace;
using Replay.Gen.Kernel;

namespace Replay.Gen;

/// <summary>
/// A pre-forked web server (Apache prefork, nginx workers): four long-lived worker processes per vCPU each serve
/// short requests — kernel network-stack work, a copy into a user buffer, a burst of user accesses — so the
/// vCPU switches address space every request; one request in eight reads a file through a small mmap that is
/// unmapped afterwards (INVLPG per page).
/// </summary>
internal static class WebServerWorkload
{
    private const int Workers = 4;
    private static readonly Layout Image = new(CodePages: 128, HeapPages: 256, StackPages: 8);

    public static readonly Workload Definition = new(
        "webserver",
        "A pre-forked web server (Apache prefork, nginx workers): a few long-lived workers per vCPU, a context switch per short request, small mmaps.",
        new Dictionary<ulong, string> { [1] = "startup", [2] = "serve" },
        Generate);

    private static void Generate(GuestKernel k, Random rng, long events)
    {
        int vcpus = k.Options.Vcpus;
        var master = k.CreateProcess();
        k.Run(0, master);
        k.Mark(1);
        for (int i = 0; i < 400; i++)
        {
            Image.Step(k, 0, rng);
        }

        var sched = new Scheduler(k);
        for (int v = 0; v < vcpus; v++)
        {
            for (int w = 0; w < Workers; w++)
            {
                sched.Add(v, k.Fork(0, master));
            }
        }

        k.Mark(2);
        for (long request = 0; k.Events < events; request++)
        {
            int v = (int)(request % vcpus);
            Layout.Kernel(k, v, rng, 24);
            sched.Next(v);
            ulong buffer = Layout.Page(Layout.Heap, rng.Next(Image.HeapPages));
            for (int i = 0; i < 4; i++)
            {
                k.Access(v, TraceOp.Write, buffer + ((ulong)i * 64), user: false); // copy_to_user of the request
            }

            int burst = rng.Next(100, 300);
            for (int i = 0; i < burst; i++)
            {
                Image.Step(k, v, rng);
            }

            if (request % 8 == 7)
            {
                int pages = rng.Next(1, 17);
                ulong file = Layout.Mmap + ((ulong)(request % 64) << 20);
                for (int i = 0; i < pages; i++)
                {
                    k.Access(v, TraceOp.Read, Layout.Page(file, i));
                }

                k.Munmap(v, file, pages);
            }
        }
    }
}
