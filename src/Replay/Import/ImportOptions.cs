namespace Replay.Import;

/// <summary>How an importer schedules and filters records.</summary>
/// <param name="Vcpus">vCPUs of the guest (lackey: file i runs on vCPU i mod Vcpus; drmemtrace: by recorded CPU id mod Vcpus).</param>
/// <param name="Slice">Lackey: records a file runs before the next file gets its turn (round-robin).</param>
/// <param name="SkipBad">Count and skip malformed records instead of failing.</param>
/// <param name="Limit">Stop after this many access records (null: all).</param>
public sealed record ImportOptions(int Vcpus = 1, long Slice = ImportOptions.DefaultSlice, bool SkipBad = false, long? Limit = null)
{
    /// <summary>Default round-robin slice: 10,000 records, roughly a few milliseconds of a real time slice at lackey's rate.</summary>
    public const long DefaultSlice = 10_000;

    /// <summary>Where the importer reports the input it has read (the progress bar); null: nowhere.</summary>
    internal ImportProgress? Progress { get; init; }
}
