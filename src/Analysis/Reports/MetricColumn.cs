using Parquet;
using Parquet.Schema;

namespace Replay.Analysis.Reports;

/// <summary>
/// A metric's column: int64 or double as the metric declares, REQUIRED when every row records it (every report a
/// replay writes), OPTIONAL when only some do, and left out when none does (a re-priced old report that lacked it).
/// </summary>
internal sealed class MetricColumn<TRow>(ReportMetric metric) : ReportColumn<TRow>(metric.Name)
    where TRow : MetricRow
{
    private readonly DataField _required = metric.ValueType == typeof(long) ? new DataField<long>(metric.Name, nullable: false) : new DataField<double>(metric.Name, nullable: false);
    private readonly DataField _optional = metric.ValueType == typeof(long) ? new DataField<long?>(metric.Name, nullable: true) : new DataField<double?>(metric.Name, nullable: true);

    public ReportMetric Metric { get; } = metric;

    public override bool MayBeMissing => true;

    public override DataField? FieldFor(IReadOnlyList<TRow> rows)
    {
        int recorded = rows.Count(r => r.Values.IsRecorded(Metric));
        return recorded == rows.Count ? _required : recorded == 0 ? null : _optional;
    }

    /// <summary>REQUIRED when both record it in every row, left out when neither does, else OPTIONAL.</summary>
    public override DataField? Combine(DataField? a, DataField? b) => ReferenceEquals(a, b) ? a : _optional;

    public override Task WriteAsync(ParquetRowGroupWriter writer, DataField field, ReadOnlyMemory<TRow> rows, CancellationToken ct)
    {
        bool isLong = Metric.ValueType == typeof(long);
        return (field.IsNullable, isLong) switch
        {
            (false, true) => writer.WriteAsync<long>(field, Values(rows, r => r.Values.Raw(Metric)), cancellationToken: ct),
            (false, false) => writer.WriteAsync<double>(field, Values(rows, r => Metric.ToDouble(r.Values.Raw(Metric))), cancellationToken: ct),
            (true, true) => writer.WriteAsync<long>(field, Values(rows, r => r.Values.IsRecorded(Metric) ? r.Values.Raw(Metric) : (long?)null), cancellationToken: ct),
            (true, false) => writer.WriteAsync<double>(field, Values(rows, r => r.Values.IsRecorded(Metric) ? Metric.ToDouble(r.Values.Raw(Metric)) : (double?)null), cancellationToken: ct),
        };
    }

    public override Task<Array> ReadAsync(ParquetRowGroupReader reader, DataField field, int count, CancellationToken ct) =>
        Column.ReadNumbersAsync(Metric.ValueType, reader, field, count, ct);
}
