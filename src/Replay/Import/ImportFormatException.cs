namespace Replay.Import;

/// <summary>
/// An input trace that cannot be imported. The message is one sentence that starts with where the problem
/// is: <c>FILE:LINE:</c> for text formats, <c>FILE:MEMBER:record N:</c> for drmemtrace.
/// </summary>
public sealed class ImportFormatException : Exception
{
    public ImportFormatException()
    {
    }

    public ImportFormatException(string message)
        : base(message)
    {
    }

    public ImportFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
