using System.Globalization;
using Parquet;
using Parquet.Data;
using Parquet.Schema;
using Replay.Engines.Trace;

namespace Replay.TraceIO;

/// <summary>
/// The vCPU count of a trace whose metadata does not give one (SPEC §1: "vcpus from the data"):
/// the largest <c>vcpu</c> plus one, from column statistics when every row group has usable ones,
/// otherwise from a scan of the <c>vcpu</c> column alone.
/// </summary>
internal static class VcpuCount
{
    public static async Task<int> FromDataAsync(ParquetReader reader, DataField? field, RowGroupDecoder groups, EventBatch scratch, CancellationToken ct)
    {
        if (field is null || groups.Find(TraceColumn.Vcpu) is not { } column)
        {
            return 1;
        }

        // Statistics answer a plausible count at once; a larger one is looked for in the data, which names its row.
        return FromStatistics(reader, field) is int n && n <= TraceInfo.MaxVcpus ? n : await ScanAsync(column, groups, scratch, ct);
    }

    private static int? FromStatistics(ParquetReader reader, DataField field)
    {
        int max = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using ParquetRowGroupReader rg = reader.OpenRowGroupReader(g);
            DataColumnStatistics? stats = rg.GetStatistics(field);
            if (stats?.MaxValue is null)
            {
                if (stats is not null && stats.NullCount == rg.RowCount)
                {
                    continue;
                }

                return null;
            }

            if (stats.MaxValue is not IConvertible c || !long.TryParse(c.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture, out long m)
                || m is < 0 or > ushort.MaxValue)
            {
                return null;
            }

            max = Math.Max(max, (int)m);
        }

        return max + 1;
    }

    private static async Task<int> ScanAsync(ColumnDecoder column, RowGroupDecoder groups, EventBatch scratch, CancellationToken ct)
    {
        int max = 0;
        long firstRow = 0;
        for (int g = 0; g < groups.Count; g++)
        {
            int n = groups.Rows(g);
            column.Load(g, n, firstRow, groups.FileLength);
            scratch.EnsureCapacity(n);
            if (await column.DecodeAsync(g, scratch, n, ct) is { } error)
            {
                throw error.ToException(groups.Path, firstRow);
            }

            Span<ushort> vcpus = scratch.Vcpu.AsSpan(0, n);
            int tooMany = vcpus.IndexOfAnyInRange((ushort)TraceInfo.MaxVcpus, ushort.MaxValue);
            if (tooMany >= 0)
            {
                throw new TraceFormatException(groups.Path, firstRow + tooMany, TraceColumn.Vcpu.Name(),
                    $"vCPU {vcpus[tooMany]} with no '{TraceMetadata.Vcpus}' in the metadata: a trace may have at most {TraceInfo.MaxVcpus} vCPUs (x86 KVM's KVM_MAX_VCPUS)");
            }

            foreach (ushort v in vcpus)
            {
                max = Math.Max(max, v);
            }

            firstRow += n;
        }

        return max + 1;
    }
}
