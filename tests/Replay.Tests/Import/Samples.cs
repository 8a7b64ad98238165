using Replay.Tests.Cli;

namespace Replay.Tests.Import;

/// <summary>The shared real-trace samples (<c>&lt;repo&gt;/../shared/samples</c>, README there) and small helpers over them.</summary>
internal static class Samples
{
    public static string Dir => Path.GetFullPath(Path.Combine(SampleTraceTests.RepoRoot(), "..", "shared", "samples"));

    public static string File(string relative) => Path.Combine(Dir, relative);

    public static string ThreadSig => File(Path.Combine("drmemtrace", "threadsig"));

    /// <summary>The second thread of threadsig (tid 2765543), 3,072,069 records.</summary>
    public static string ThreadSigWorker => Path.Combine(ThreadSig, "drmemtrace.threadsig.2765543.2117.trace.zip");

    /// <summary>The first thread of threadsig (tid 2765542, the main thread).</summary>
    public static string ThreadSigMain => Path.Combine(ThreadSig, "drmemtrace.threadsig.2765542.2328.trace.zip");
}
