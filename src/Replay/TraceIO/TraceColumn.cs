using Parquet.Schema;

namespace Replay.TraceIO;

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
    Insns,
}

/// <summary>Names and writer schema of the <see cref="TraceColumn"/>s.</summary>
internal static class TraceColumns
{
    /// <summary>On-disk column names, indexed by <see cref="TraceColumn"/>; readers match them exactly.</summary>
    public static readonly string[] Names = ["op", "vcpu", "va", "pa", "value", "user", "width", "time", "insns"];

    public static readonly TraceColumn[] All = Enum.GetValues<TraceColumn>();

    public static string Name(this TraceColumn column) => Names[(int)column];

    /// <summary>
    /// The schema writers use: the SPEC §1 types, every column REQUIRED, in <see cref="TraceColumn"/> order;
    /// <c>time</c> only when asked for, <c>insns</c> always (an optional extension of v1 that every reader of
    /// this project takes, and that other readers ignore as an extra column).
    /// </summary>
    public static DataField[] WriterFields(bool hasTime)
    {
        List<DataField> fields =
        [
            new DataField<byte>("op", false),
            new DataField<ushort>("vcpu", false),
            new DataField<ulong>("va", false),
            new DataField<ulong>("pa", false),
            new DataField<ulong>("value", false),
            new DataField<bool>("user", false),
            new DataField<byte>("width", false),
        ];
        if (hasTime)
        {
            fields.Add(new DataField<long>("time", false));
        }

        fields.Add(new DataField<uint>("insns", false));
        return [.. fields];
    }
}
