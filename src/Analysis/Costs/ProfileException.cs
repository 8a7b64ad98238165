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

    /// <summary>True when the name is neither a built-in profile nor a path: a bad argument (a usage error), not a bad file.</summary>
    public bool UnknownName { get; init; }
}
