using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Replay.Engines.Trace;

namespace Replay.TraceIO;

/// <summary>
/// The key-value metadata of trace format v1 (SPEC §1): the keys, how a <see cref="TraceInfo"/> is written
/// into them, and how they are read back with the documented defaults for missing keys.
/// </summary>
internal static class TraceMetadata
{
    public const string Version = "replay.trace.version";
    public const string Vcpus = "replay.guest.vcpus";
    public const string MemoryBytes = "replay.guest.memory_bytes";
    public const string PagingLevels = "replay.guest.paging_levels";
    public const string Pcid = "replay.guest.pcid";
    public const string Source = "replay.source";
    public const string Markers = "replay.markers";
    public const string Pressure = "replay.guest.cache_pressure";

    /// <summary>
    /// The CRC-32 of every other key-value entry (<see cref="Checksum"/>), as 8 hex digits. Parquet protects no footer
    /// bytes; the page CRCs (<see cref="Replay.Analysis.ParquetIO.PageCrcs"/>) cover the data, this the metadata a replay is sized and priced by.
    /// </summary>
    public const string Crc = "replay.metadata.crc32";

    /// <summary>The only trace format version this build reads and writes.</summary>
    public const string CurrentVersion = "1";

    public static Dictionary<string, string> ToMetadata(TraceInfo info)
    {
        var markers = new SortedDictionary<ulong, string>(info.Markers.ToDictionary());
        var meta = new Dictionary<string, string>
        {
            [Version] = CurrentVersion,
            [Vcpus] = info.Vcpus.ToString(CultureInfo.InvariantCulture),
            [MemoryBytes] = info.MemoryBytes.ToString(CultureInfo.InvariantCulture),
            [PagingLevels] = info.PagingLevels.ToString(CultureInfo.InvariantCulture),
            [Pcid] = info.Pcid ? "true" : "false",
            [Source] = info.Source,
            [Markers] = JsonSerializer.Serialize(markers),
        };
        if (info.Pressure.Any)
        {
            meta[Pressure] = string.Create(CultureInfo.InvariantCulture,
                $"{{\"l1d_misses_per_kinsn\": {info.Pressure.L1dMissesPerKiloInsn:R}, \"llc_misses_per_kinsn\": {info.Pressure.LlcMissesPerKiloInsn:R}, \"footprint_bytes\": {info.Pressure.FootprintBytes}}}");
        }

        return meta;
    }

    /// <summary>
    /// Reads <see cref="TraceInfo"/> from metadata. <paramref name="vcpus"/> is the declared vCPU count,
    /// or null when the file does not say (the caller then derives it from the data).
    /// </summary>
    public static TraceInfo Parse(IReadOnlyDictionary<string, string> meta, string path, out int? vcpus)
    {
        if (meta.TryGetValue(Crc, out string? crc) && crc != Checksum(meta))
        {
            throw new TraceFormatException(path, null, null,
                $"the key-value metadata fails its CRC-32 check (metadata '{Crc}' is '{crc}', the entries give {Checksum(meta)}): the footer is damaged");
        }

        if (meta.TryGetValue(Version, out string? version) && version.Trim() != CurrentVersion)
        {
            throw Bad(path, Version, version, $"version {CurrentVersion}");
        }

        vcpus = meta.TryGetValue(Vcpus, out string? v) ? (int)ParseNumber(path, Vcpus, v, TraceInfo.MaxVcpus, "x86 KVM's KVM_MAX_VCPUS") : null;
        return new TraceInfo
        {
            Vcpus = vcpus ?? 1,
            MemoryBytes = meta.TryGetValue(MemoryBytes, out string? m)
                ? ParseNumber(path, MemoryBytes, m, ulong.MaxValue)
                : TraceInfo.DefaultMemoryBytes,
            PagingLevels = meta.TryGetValue(PagingLevels, out string? l)
                ? (l.Trim() is "4" or "5" ? l.Trim()[0] - '0' : throw Bad(path, PagingLevels, l, "4 or 5"))
                : 4,
            Pcid = meta.TryGetValue(Pcid, out string? p) && ParseBool(path, p),
            Source = meta.TryGetValue(Source, out string? s) ? s : "",
            Markers = meta.TryGetValue(Markers, out string? j) ? ParseMarkers(path, j) : new Dictionary<ulong, string>(),
            Pressure = meta.TryGetValue(Pressure, out string? cp) ? ParsePressure(path, cp) : Engines.Caches.CachePressure.None,
        };
    }

    /// <summary>Adds (or replaces) the <see cref="Crc"/> entry of <paramref name="meta"/>, once every other entry is final.</summary>
    public static Dictionary<string, string> Seal(IReadOnlyDictionary<string, string> meta)
    {
        var sealedMeta = new Dictionary<string, string>(meta);
        sealedMeta.Remove(Crc);
        sealedMeta[Crc] = Checksum(sealedMeta);
        return sealedMeta;
    }

    /// <summary>CRC-32 of the entries other than <see cref="Crc"/> in ordinal key order, each as UTF-8 key, NUL, value, NUL.</summary>
    private static string Checksum(IReadOnlyDictionary<string, string> meta)
    {
        var crc = new Crc32();
        foreach (var (key, value) in meta.Where(kv => kv.Key != Crc).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            crc.Append(Encoding.UTF8.GetBytes(key));
            crc.Append([0]);
            crc.Append(Encoding.UTF8.GetBytes(value));
            crc.Append([0]);
        }

        return crc.GetCurrentHashAsUInt32().ToString("x8", CultureInfo.InvariantCulture);
    }

    private static Engines.Caches.CachePressure ParsePressure(string path, string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            double misses = doc.RootElement.GetProperty("l1d_misses_per_kinsn").GetDouble();
            double llc = doc.RootElement.GetProperty("llc_misses_per_kinsn").GetDouble();
            ulong bytes = doc.RootElement.GetProperty("footprint_bytes").GetUInt64();
            return double.IsFinite(misses) && misses >= 0 && double.IsFinite(llc) && llc >= 0
                ? new Engines.Caches.CachePressure(misses, llc, bytes)
                : throw Bad(path, Pressure, json, "non-negative l1d_misses_per_kinsn and llc_misses_per_kinsn");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Bad(path, Pressure, json, "a JSON object {\"l1d_misses_per_kinsn\": …, \"llc_misses_per_kinsn\": …, \"footprint_bytes\": …}");
        }
    }

    private static ulong ParseNumber(string path, string key, string text, ulong max, string? why = null) =>
        ulong.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) && n >= 1 && n <= max
            ? n
            : throw Bad(path, key, text, why is null ? $"a whole number from 1 to {max}" : $"a whole number from 1 to {max} ({why})");

    private static bool ParseBool(string path, string text) => text.Trim().ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw Bad(path, Pcid, text, "true or false"),
    };

    private static Dictionary<ulong, string> ParseMarkers(string path, string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<ulong, string>>(json) ?? [];
        }
        catch (JsonException e)
        {
            throw new TraceFormatException(path, null, null, $"metadata '{Markers}' is not a JSON object of marker id to label ({e.Message.TrimEnd('.')})", e);
        }
    }

    private static TraceFormatException Bad(string path, string key, string value, string expected) =>
        new(path, null, null, $"metadata '{key}' is '{value}', expected {expected}");
}
