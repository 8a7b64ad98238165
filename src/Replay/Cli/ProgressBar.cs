namespace Replay.Cli;

/// <summary>A one-line progress bar on stderr, drawn only when stderr is a terminal.</summary>
internal sealed class ProgressBar(TextWriter stderr) : IProgress<double>, IDisposable
{
    private readonly bool _enabled = ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected;
    private int _lastPercent = -1;

    public string Label { get; set; } = "";

    public void Report(double value)
    {
        int percent = (int)Math.Clamp(value * 100, 0, 100);
        if (!_enabled || percent == _lastPercent)
        {
            return;
        }

        _lastPercent = percent;
        int filled = percent / 4;
        stderr.Write($"\r{Label} [{new string('#', filled)}{new string(' ', 25 - filled)}] {percent,3}%");
    }

    public void Done()
    {
        if (_enabled && _lastPercent >= 0)
        {
            stderr.Write("\r" + new string(' ', Label.Length + 36) + "\r");
        }

        _lastPercent = -1;
    }

    public void Dispose() => Done();
}
