using System.Numerics;
using Parquet;
using Parquet.Schema;

namespace Replay.Analysis.Reports;

/// <summary>
/// Reads one report column as the file stores it, whatever wrote the file: REQUIRED or OPTIONAL (DuckDB, pandas and
/// Spark write every column OPTIONAL), any integer width or signedness where the values fit in an int64, and
/// floats where a double column is expected. Values come back as <c>long?[]</c>, <c>double?[]</c> or
/// <c>string?[]</c>, a null where the file has one.
/// </summary>
internal static class ColumnValues
{
    // An integer up to 2^53 converts to a double exactly; past it a count would silently change.
    private const long ExactInDouble = 1L << 53;

    public static async Task<long?[]> ReadIntegersAsync(ParquetRowGroupReader group, DataField field, int count, CancellationToken ct) =>
        Type.GetTypeCode(field.ClrType) switch
        {
            TypeCode.Int64 => await ReadAsync<long>(group, field, count, ct).ConfigureAwait(false),
            TypeCode.Int32 => await IntegersAsync<int>(group, field, count, ct).ConfigureAwait(false),
            TypeCode.Int16 => await IntegersAsync<short>(group, field, count, ct).ConfigureAwait(false),
            TypeCode.SByte => await IntegersAsync<sbyte>(group, field, count, ct).ConfigureAwait(false),
            TypeCode.Byte => await IntegersAsync<byte>(group, field, count, ct).ConfigureAwait(false),
            TypeCode.UInt16 => await IntegersAsync<ushort>(group, field, count, ct).ConfigureAwait(false),
            TypeCode.UInt32 => await IntegersAsync<uint>(group, field, count, ct).ConfigureAwait(false),
            TypeCode.UInt64 => await IntegersAsync<ulong>(group, field, count, ct).ConfigureAwait(false),
            TypeCode.Decimal => await IntegersAsync<decimal>(group, field, count, ct).ConfigureAwait(false),
            _ => throw WrongType(field, "an integer"),
        };

    public static async Task<double?[]> ReadDoublesAsync(ParquetRowGroupReader group, DataField field, int count, CancellationToken ct)
    {
        Type t = field.ClrType;
        if (t == typeof(double))
        {
            return await ReadAsync<double>(group, field, count, ct).ConfigureAwait(false);
        }

        if (t == typeof(float))
        {
            return Convert(await ReadAsync<float>(group, field, count, ct).ConfigureAwait(false), v => (double)v);
        }

        // A tool may store whole-number cycles as integers; they are exact as doubles up to 2^53.
        var integers = await ReadIntegersAsync(group, field, count, ct).ConfigureAwait(false);
        return Convert(integers, v => v is > -ExactInDouble and < ExactInDouble ? (double)v : throw TooBig(field, v));
    }

    public static async Task<string?[]> ReadStringsAsync(ParquetRowGroupReader group, DataField field, int count, CancellationToken ct)
    {
        if (field.ClrType != typeof(string) && field.ClrType != typeof(ReadOnlyMemory<char>))
        {
            throw WrongType(field, "a string");
        }

        var values = new string?[count];
        await group.ReadAsync(field, values.AsMemory(), null, ct).ConfigureAwait(false);
        return values;
    }

    private static async Task<T?[]> ReadAsync<T>(ParquetRowGroupReader group, DataField field, int count, CancellationToken ct)
        where T : struct
    {
        var values = new T?[count];
        if (field.IsNullable)
        {
            await group.ReadAsync<T>(field, values.AsMemory(), null, ct).ConfigureAwait(false);
            return values;
        }

        var plain = new T[count];
        await group.ReadAsync<T>(field, plain.AsMemory(), null, ct).ConfigureAwait(false);
        for (int i = 0; i < count; i++)
        {
            values[i] = plain[i];
        }

        return values;
    }

    /// <summary>Another integer width (or a whole decimal) as int64, where every value fits.</summary>
    private static async Task<long?[]> IntegersAsync<T>(ParquetRowGroupReader group, DataField field, int count, CancellationToken ct)
        where T : struct, INumberBase<T>
    {
        var values = await ReadAsync<T>(group, field, count, ct).ConfigureAwait(false);
        return Convert(values, v => T.IsInteger(v) && long.CreateSaturating(v) is var l && T.CreateSaturating(l) == v ? l : throw TooBig(field, v));
    }

    private static TOut?[] Convert<TIn, TOut>(TIn?[] values, Func<TIn, TOut> convert)
        where TIn : struct
        where TOut : struct
    {
        var result = new TOut?[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = values[i] is { } v ? convert(v) : null;
        }

        return result;
    }

    private static InvalidDataException WrongType(DataField field, string expected) =>
        new($"column '{field.Name}' holds {Kind(field.ClrType)} values where {expected} column was expected");

    /// <summary>What a column holds, in Parquet's terms rather than .NET type names.</summary>
    private static string Kind(Type t) =>
        t == typeof(string) ? "string"
        : t == typeof(bool) ? "boolean"
        : t == typeof(float) || t == typeof(double) ? "floating-point"
        : t == typeof(decimal) ? "decimal"
        : t == typeof(DateTime) || t == typeof(DateTimeOffset) || t == typeof(TimeSpan) || t == typeof(DateOnly) || t == typeof(TimeOnly) ? "date/time"
        : t == typeof(byte[]) || t.Name.StartsWith("ReadOnlyMemory", StringComparison.Ordinal) || t.Name.StartsWith("Memory", StringComparison.Ordinal) ? "binary"
        : t.IsPrimitive ? "integer"
        : "non-scalar";

    private static InvalidDataException TooBig(DataField field, object value) =>
        new($"column '{field.Name}' holds {value}, which does not fit the report's type for it");
}
