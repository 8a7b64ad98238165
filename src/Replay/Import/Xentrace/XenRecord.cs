using System.Runtime.CompilerServices;

namespace Replay.Import.Xentrace;

/// <summary>The up to 7 extra 32-bit words of a record (struct t_rec's <c>extra_u32[7]</c>).</summary>
[InlineArray(7)]
internal struct XenWords
{
    private uint _w;
}

/// <summary>
/// One trace record as xenalyze sees it: the physical CPU whose buffer held it, its TSC (a record without one takes
/// the previous TSC of its CPU, as xenalyze's <c>__fill_in_record_info</c> does), the event and its extra words, and
/// the byte offset of its header in the file (for error messages).
/// </summary>
internal readonly struct XenRecord
{
    public required int Cpu { get; init; }
    public required ulong Tsc { get; init; }
    public required bool HasTsc { get; init; }
    public required uint Event { get; init; }
    public required int Extra { get; init; }
    public required long Offset { get; init; }
    public required XenWords Words { get; init; }

    public uint Word(int i) => i < Extra ? Words[i] : 0;

    /// <summary>Words <paramref name="i"/> and <paramref name="i"/>+1 as one little-endian u64.</summary>
    public ulong Word64(int i) => Word(i) | ((ulong)Word(i + 1) << 32);

    /// <summary>The 64-bit-address variant of the event (<see cref="XenEvents.Flag64"/>).</summary>
    public bool Is64 => (Event & XenEvents.Flag64) != 0;

    /// <summary>The event without <see cref="XenEvents.Flag64"/>.</summary>
    public uint Base => Event & ~XenEvents.Flag64;
}
