using Parquet.Schema;

namespace Replay.Trace;

/// <summary>The columns of trace format v1 (SPEC §1), in the order this project writes them.</summary>
internal enum TraceColumn
{
    Op,
    Vcpu,
    Va,
    Pa,
    Value,
    User,
    Width,
    Time,
}

/// <summary>Names and writer schema of the <see cref="TraceColumn"/>s.</summary>
internal static class TraceColumns
{
    /// <summary>On-disk column names, indexed by <see cref="TraceColumn"/>; readers match them exactly.</summary>
    public static readonly string[] Names = ["op", "vcpu", "va", "pa", "value", "user", "width", "time"];

    public static readonly TraceColumn[] All = Enum.GetValues<TraceColumn>();

    public static string Name(this TraceColumn column) => Names[(int)column];

    /// <summary>The schema writers use: the SPEC §1 types, every column REQUIRED; <c>time</c> only when asked for.</summary>
    public static DataField[] WriterFields(bool hasTime)
    {
        DataField[] fields =
        [
            new DataField<byte>("op", false),
            new DataField<ushort>("vcpu", false),
            new DataField<ulong>("va", false),
            new DataField<ulong>("pa", false),
            new DataField<ulong>("value", false),
            new DataField<bool>("user", false),
            new DataField<byte>("width", false),
            new DataField<long>("time", false),
        ];
        return hasTime ? fields : fields[..^1];
    }
}
