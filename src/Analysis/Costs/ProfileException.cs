namespace Replay.Analysis.Costs;

/// <summary>A cost profile that cannot be found, parsed or used; the message is one sentence naming the culprit.</summary>
public sealed class ProfileException : Exception
{
    public ProfileException()
    {
    }

    public ProfileException(string message)
        : base(message)
    {
    }

    public ProfileException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
