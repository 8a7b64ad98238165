namespace Replay.Analysis.ParquetIO;

/// <summary>
/// What <see cref="ThriftCopy"/> changes while it copies a Thrift struct: the kind of each nested struct (the caller's
/// own numbering; 0 = a struct it does not care about), each integer field's value, and fields to add.
/// </summary>
internal interface IThriftEdit
{
    /// <summary>The kind of the struct held by field <paramref name="id"/> of a <paramref name="parent"/> struct (or by the elements of the list it holds).</summary>
    int KindOf(int parent, short id);

    /// <summary>A struct of <paramref name="kind"/> starts.</summary>
    void Enter(int kind);

    /// <summary>The value to write for integer field <paramref name="id"/> of a <paramref name="kind"/> struct, read as <paramref name="value"/>.</summary>
    long Integer(int kind, short id, long value);

    /// <summary>Called before field <paramref name="id"/> is copied (<see cref="short.MaxValue"/>: before the struct's STOP), to insert fields with smaller ids.</summary>
    void Before(int kind, short id, ThriftCompactWriter writer);
}

/// <summary>
/// Copies Thrift compact-protocol data from a <see cref="ThriftCompactReader"/> to a <see cref="ThriftCompactWriter"/>
/// field by field, every value re-encoded, with an <see cref="IThriftEdit"/> rewriting integers and adding fields. What
/// the edit leaves alone comes out as it went in (field order, types, collections, unknown fields).
/// </summary>
internal static class ThriftCopy
{
    private const int MaxDepth = 64;

    /// <summary>Copies the fields of a <paramref name="kind"/> struct up to and including its STOP.</summary>
    public static void Struct(ref ThriftCompactReader r, ThriftCompactWriter w, int kind, IThriftEdit edit, int depth = 0)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidDataException("Thrift structure nested too deeply.");
        }

        edit.Enter(kind);
        w.BeginStruct();
        short id = 0;
        while (r.NextField(ref id, out int type))
        {
            edit.Before(kind, id, w);
            if (type is ThriftCompactReader.True or ThriftCompactReader.False)
            {
                w.BoolField(id, type == ThriftCompactReader.True);
                continue;
            }

            w.Field(id, type);
            if (type is ThriftCompactReader.I16 or ThriftCompactReader.I32 or ThriftCompactReader.I64)
            {
                long value = edit.Integer(kind, id, r.ReadLong());
                w.Integer(type == ThriftCompactReader.I64 ? value : checked((int)value));
            }
            else
            {
                Value(ref r, w, type, edit.KindOf(kind, id), edit, depth + 1);
            }
        }

        edit.Before(kind, short.MaxValue, w);
        w.EndStruct();
    }

    /// <summary>Copies one value of <paramref name="type"/>; a struct (or a collection's structs) is of <paramref name="kind"/>.</summary>
    private static void Value(ref ThriftCompactReader r, ThriftCompactWriter w, int type, int kind, IThriftEdit edit, int depth)
    {
        switch (type)
        {
            case ThriftCompactReader.True or ThriftCompactReader.False or ThriftCompactReader.Byte:
                w.Byte(r.ReadByte()); // inside collections a boolean is a byte of its own
                break;
            case ThriftCompactReader.I16 or ThriftCompactReader.I32 or ThriftCompactReader.I64:
                w.Integer(r.ReadLong());
                break;
            case ThriftCompactReader.Double:
                w.Raw(r.ReadRaw(8));
                break;
            case ThriftCompactReader.Binary:
                w.Binary(r.ReadBinary());
                break;
            case ThriftCompactReader.Struct:
                Struct(ref r, w, kind, edit, depth);
                break;
            case ThriftCompactReader.List or ThriftCompactReader.Set:
                long size = r.ReadListHeader(out int element);
                w.ListHeader(size, element);
                for (long i = 0; i < size; i++)
                {
                    Value(ref r, w, element, kind, edit, depth + 1);
                }

                break;
            case ThriftCompactReader.Map:
                ulong entries = r.ReadMapHeader(out int key, out int val);
                w.MapHeader(entries, key, val);
                for (ulong i = 0; i < entries; i++)
                {
                    Value(ref r, w, key, 0, edit, depth + 1);
                    Value(ref r, w, val, 0, edit, depth + 1);
                }

                break;
            default:
                throw new InvalidDataException($"Unknown Thrift compact type {type}.");
        }
    }
}
