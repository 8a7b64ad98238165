using System.Diagnostics;
using System.Globalization;
using Replay.Driver;

namespace Replay.Cli;

/// <summary>
/// A one-line progress bar on stderr with the rate and the time left, drawn only when stderr is a terminal; reports
/// may come from any thread. The rate is in events (or <see cref="Unit"/>: an import's input in MB) per second when <see cref="Total"/> is known; the time left is
/// the elapsed time scaled by the fraction still to do (<c>elapsed × (1 − f) / f</c>), shown once 1% is done.
/// </summary>
internal sealed class ProgressBar : IEventProgress, IDisposable
{
    private readonly TextWriter _stderr;
    private readonly bool _enabled;
    private readonly Func<TimeSpan> _clock;
    private readonly Lock _lock = new();
    private int _lastPercent = -1;
    private int _lastWidth;
    private TimeSpan _start;
    private string _label = "";

    public ProgressBar(TextWriter stderr)
        : this(stderr, ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected, Clock())
    {
    }

    private static Func<TimeSpan> Clock()
    {
        var watch = Stopwatch.StartNew();
        return () => watch.Elapsed;
    }

    /// <summary>For tests: drawn when <paramref name="enabled"/>, timed by <paramref name="clock"/>.</summary>
    internal ProgressBar(TextWriter stderr, bool enabled, Func<TimeSpan> clock)
    {
        _stderr = stderr;
        _enabled = enabled;
        _clock = clock;
        _start = clock();
    }

    /// <summary>The trace or file being worked on; a new one starts the bar, its clock and its total again.</summary>
    public string Label
    {
        get => _label;
        set
        {
            lock (_lock)
            {
                _label = value;
                _lastPercent = -1;
                _start = _clock();
                Total = 0;
            }
        }
    }

    /// <summary>Events (or records) that a fraction of 1.0 stands for; 0 when unknown (no rate shown).</summary>
    public long Total { get; set; }

    /// <summary>What <see cref="Total"/> counts, for the rate (<c>events</c>; an import's <c>bytes</c>).</summary>
    public string Unit { get; set; } = "events";

    public void Report(double value)
    {
        int percent = (int)Math.Clamp(value * 100, 0, 100);
        if (!_enabled)
        {
            return;
        }

        lock (_lock)
        {
            if (percent <= _lastPercent)
            {
                return;
            }

            _lastPercent = percent;
            string line = Line(_label, percent, value, (_clock() - _start).TotalSeconds, Total, Unit);
            _stderr.Write("\r" + line.PadRight(_lastWidth));
            _lastWidth = line.Length;
        }
    }

    /// <summary>The bar's text: label, bar, percent, rate (when the total is known) and the time left.</summary>
    internal static string Line(string label, int percent, double fraction, double seconds, long total, string unit = "events")
    {
        var c = CultureInfo.InvariantCulture;
        int filled = percent / 4;
        string line = $"{label} [{new string('#', filled)}{new string(' ', 25 - filled)}] {percent,3}%";
        if (seconds > 0 && total > 0)
        {
            line += string.Create(c, $"  {fraction * total / seconds / 1e6:0.0}{(unit == "bytes" ? " MB" : "M " + unit)}/s");
        }

        if (seconds > 0 && fraction >= 0.01 && fraction < 1)
        {
            line += "  ETA " + Duration(seconds * (1 - fraction) / fraction);
        }

        return line;
    }

    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Ceiling(seconds));
        return t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00}");
    }

    public void Done()
    {
        lock (_lock)
        {
            if (_enabled && _lastPercent >= 0)
            {
                _stderr.Write("\r" + new string(' ', _lastWidth) + "\r");
            }

            _lastPercent = -1;
            _lastWidth = 0;
        }
    }

    public void Dispose() => Done();
}
