using System.Diagnostics;
using System.Globalization;

namespace Replay.Sweep;

/// <summary>
/// One progress display for a whole grid on stderr: cells done of the total, failures, cells per minute and the ETA
/// from this run's rate. On a terminal one line redrawn in place; otherwise (a log, a Slurm output file) one line per
/// finished cell.
/// </summary>
internal sealed class SweepProgress(TextWriter stderr, int total, int alreadyDone, bool terminal)
{
    private readonly Lock _lock = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _finished;
    private int _failed;

    public static SweepProgress For(TextWriter stderr, int total, int alreadyDone) =>
        new(stderr, total, alreadyDone, ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected);

    /// <summary>A cell of this run finished (well or not).</summary>
    public void CellFinished(string folder, CellRecord r)
    {
        lock (_lock)
        {
            _finished++;
            _failed += r.Status == CellRecord.Failed ? 1 : 0;
            string line = Line();
            if (terminal)
            {
                stderr.Write("\r" + line.PadRight(100));
                if (r.Status == CellRecord.Failed)
                {
                    stderr.WriteLine();
                    stderr.WriteLine($"sweep: failed: {folder}: {r.Error}");
                }
            }
            else
            {
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{line}  {folder} {r.Status} in {r.WallSeconds:0.0} s{(r.Error is null ? "" : ": " + r.Error)}"));
            }
        }
    }

    public void Done()
    {
        lock (_lock)
        {
            if (terminal && _finished > 0)
            {
                stderr.WriteLine();
            }
        }
    }

    /// <summary>Progress from elsewhere (Slurm tasks): the number of cells done so far.</summary>
    public void Observed(int done, int failed)
    {
        lock (_lock)
        {
            if (done - alreadyDone == _finished && failed == _failed)
            {
                return;
            }

            _finished = done - alreadyDone;
            _failed = failed;
            stderr.Write(terminal ? "\r" + Line().PadRight(100) : Line() + Environment.NewLine);
        }
    }

    private string Line()
    {
        double seconds = _clock.Elapsed.TotalSeconds;
        int done = alreadyDone + _finished;
        double perMinute = seconds > 0 ? _finished / seconds * 60 : 0;
        string eta = _finished > 0 ? TimeSpan.FromSeconds(Math.Round((total - done) * seconds / _finished)).ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : "?";
        return string.Create(CultureInfo.InvariantCulture,
            $"sweep: {done}/{total} cells ({_failed} failed), {perMinute:0.0} cells/min, ETA {eta}");
    }
}
