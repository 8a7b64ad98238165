namespace Replay.Cli;

/// <summary>A one-line progress bar on stderr, drawn only when stderr is a terminal; reports may come from any thread.</summary>
internal sealed class ProgressBar(TextWriter stderr) : IProgress<double>, IDisposable
{
    private readonly bool _enabled = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
    private readonly Lock _lock = new();
    private int _lastPercent = -1;

    private string _label = "";

    /// <summary>The trace being replayed; a new one starts the bar again from 0.</summary>
    public string Label
    {
        get => _label;
        set
        {
            lock (_lock)
            {
                _label = value;
                _lastPercent = -1;
            }
        }
    }

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
            int filled = percent / 4;
            stderr.Write($"\r{_label} [{new string('#', filled)}{new string(' ', 25 - filled)}] {percent,3}%");
        }
    }

    public void Done()
    {
        lock (_lock)
        {
            if (_enabled && _lastPercent >= 0)
            {
                stderr.Write("\r" + new string(' ', _label.Length + 36) + "\r");
            }

            _lastPercent = -1;
        }
    }

    public void Dispose() => Done();
}
