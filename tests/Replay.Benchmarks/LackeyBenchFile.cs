using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Replay.Benchmarks;

/// <summary>
/// A synthetic lackey file shaped like real <c>valgrind --tool=lackey --trace-mem=yes</c> output (the shared
/// lackey_tiny sample is 78% I, 15% L, 7% S, 1% M): sequential code with jumps, a stack and a heap. Lines come
/// from REPLAY_BENCH_LINES (default 10,000,000).
/// </summary>
internal static class LackeyBenchFile
{
    public static long Lines =>
        long.TryParse(Environment.GetEnvironmentVariable("REPLAY_BENCH_LINES"), out long n) && n > 0 ? n : 10_000_000;

    /// <summary>Writes <paramref name="lines"/> lines to <paramref name="path"/>, gzip-compressed when <paramref name="gzip"/>.</summary>
    public static void Write(string path, long lines, bool gzip = false)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using Stream output = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        using var w = new StreamWriter(output, new UTF8Encoding(false), 1 << 20) { NewLine = "\n" };
        var rng = new Random(1);
        ulong pc = 0x0040_1000;
        w.WriteLine("==4242== Lackey, an example Valgrind tool");
        for (long i = 0; i < lines; i++)
        {
            int r = rng.Next(100);
            if (r < 78)
            {
                int len = rng.Next(1, 8);
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"I  {pc:x8},{len}"));
                pc = rng.Next(16) == 0 ? 0x0040_0000 + ((ulong)rng.Next(1 << 20) & ~3UL) : pc + (ulong)len;
            }
            else
            {
                char kind = r < 93 ? 'L' : r < 99 ? 'S' : 'M';
                ulong va = rng.Next(2) == 0 ? 0x1FFF_0000_00UL + (ulong)rng.Next(1 << 16) * 8 : 0x0480_0000UL + (ulong)rng.Next(1 << 22) * 8;
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $" {kind} {va:x8},8"));
            }
        }
    }
}
