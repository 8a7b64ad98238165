using Parquet.Schema;

namespace Replay.TraceIO;

/// <summary>
/// Which trace columns a Parquet file has, matched by exact top-level name, and a check that each holds a
/// type SPEC §1 accepts: any integer width and signedness, and for <c>user</c> also a boolean.
/// Columns with other names are ignored.
/// </summary>
internal sealed class TraceSchema
{
    private static readonly HashSet<Type> IntegerTypes =
    [
        typeof(sbyte), typeof(byte), typeof(short), typeof(ushort),
        typeof(int), typeof(uint), typeof(long), typeof(ulong),
    ];

    private readonly DataField?[] _fields = new DataField?[TraceColumns.Names.Length];

    private TraceSchema()
    {
    }

    /// <summary>The file's field for <paramref name="column"/>, or null when the file has no such column.</summary>
    public DataField? this[TraceColumn column] => _fields[(int)column];

    public static TraceSchema Map(ParquetSchema schema, string path)
    {
        var map = new TraceSchema();
        foreach (Field field in schema.Fields)
        {
            int index = Array.IndexOf(TraceColumns.Names, field.Name);
            if (index < 0)
            {
                continue;
            }

            var column = (TraceColumn)index;
            if (field is not DataField data || data.IsArray)
            {
                throw new TraceFormatException(path, null, field.Name, $"a nested or repeated column, but SPEC §1 needs a plain {Expected(column)}");
            }

            bool accepted = IntegerTypes.Contains(data.ClrType) || (column == TraceColumn.User && data.ClrType == typeof(bool));
            if (!accepted)
            {
                throw new TraceFormatException(path, null, field.Name, $"type {data.ClrType.Name}, but SPEC §1 needs {Expected(column)}");
            }

            map._fields[index] = data;
        }

        if (map[TraceColumn.Op] is null)
        {
            throw new TraceFormatException(path, null, "op", "no such column, but every trace needs one");
        }

        return map;
    }

    private static string Expected(TraceColumn column) =>
        column == TraceColumn.User ? "a boolean or an integer" : "an integer";
}
