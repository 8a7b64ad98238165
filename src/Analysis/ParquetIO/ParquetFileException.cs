namespace Replay.Analysis.ParquetIO;

/// <summary>
/// A Parquet file this project reads that cannot be read as one: not Parquet, cut short, or a page whose bytes are
/// not the ones written (a CRC-32 mismatch). An <see cref="IOException"/>, as the data read back is not what was
/// written; the message is one sentence naming the file and, for a damaged page, its column and row group.
/// </summary>
public sealed class ParquetFileException : IOException
{
    public ParquetFileException()
    {
    }

    public ParquetFileException(string message)
        : base(message)
    {
    }

    public ParquetFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
