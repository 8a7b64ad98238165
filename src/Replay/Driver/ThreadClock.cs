using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Replay.Driver;

/// <summary>
/// The CPU time of the calling thread, in <see cref="Stopwatch"/> ticks: what an engine's <c>replay_seconds</c>
/// measures. Every engine replays on a thread of its own and there are usually more engines than cores, so a
/// wall clock around an engine would also count the time it waited for a core and its rate would fall with the
/// number of engines run beside it; the thread's CPU time does not. Linux reads <c>CLOCK_THREAD_CPUTIME_ID</c>
/// (.NET has no managed API for one thread's CPU time); elsewhere the wall clock stands in.
/// </summary>
internal static class ThreadClock
{
    private const int ClockThreadCpuTimeId = 3; // linux/time.h

    private static readonly bool Supported = OperatingSystem.IsLinux() && Probe();

    /// <summary>The calling thread's CPU time so far (Linux), or <see cref="Stopwatch.GetTimestamp"/>.</summary>
    public static long Now()
    {
        if (!Supported)
        {
            return Stopwatch.GetTimestamp();
        }

        _ = ClockGetTime(ClockThreadCpuTimeId, out TimeSpec t);
        return (long)((t.Seconds * 1_000_000_000.0 + t.Nanoseconds) * (Stopwatch.Frequency / 1e9));
    }

    private static bool Probe()
    {
        try
        {
            return ClockGetTime(ClockThreadCpuTimeId, out _) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    // DllImport rather than LibraryImport: the struct is blittable, and LibraryImport would need unsafe code enabled.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);
#pragma warning restore SYSLIB1054
}
