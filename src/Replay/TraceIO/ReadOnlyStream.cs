namespace Replay.TraceIO;

/// <summary>
/// A read-only stream over something it owns (a file handle, another stream): writing and setting the length are
/// refused, flushing has nothing to do, and disposing the stream disposes <paramref name="owned"/> (null: a subclass
/// whose owned parts change as it reads disposes them in <see cref="DisposeOwned"/>).
/// </summary>
internal abstract class ReadOnlyStream(IDisposable? owned) : Stream
{
    public override bool CanWrite => false;

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DisposeOwned();
        }

        base.Dispose(disposing);
    }

    /// <summary>Disposes what the stream owns; once, from <see cref="Dispose(bool)"/>.</summary>
    protected virtual void DisposeOwned() => owned?.Dispose();
}
