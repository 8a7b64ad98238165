using System.Text.Json;
using Replay.Engines.Caches;
using Replay.Engines.Tlb;

namespace Replay.Analysis.Costs;

/// <summary>
/// Reads the profile JSON schema (SPEC §4; snake_case, see <c>Profiles/skylake.json</c>). A profile of an earlier
/// release (a flat <c>walk.ref_cycles</c>, no <c>cache</c>, no <c>guest.cycles_per_insn</c>) is still read, so the
/// reports it is kept in can be compared and re-priced. Every cost is
/// required; TLB arrays other than <c>l1d_4k</c> and <c>l1i_4k</c> may be null or absent (the CPU has none);
/// <c>tlb.psc</c>, <c>tlb.nested_tlb</c> (the EPT engine's gpa → hpa TLB), <c>tlb.ept_psc</c> (EPT paging-structure
/// caches: <c>pml4</c>, <c>pdpt</c>, <c>pd</c>; absent = 0), <c>description</c> and <c>sources</c> are optional. Unknown fields in the fixed sections are
/// errors, so a misspelt key cannot silently fall back to a default.
/// </summary>
internal static class ProfileParser
{
    private static readonly JsonDocumentOptions Options = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        AllowDuplicateProperties = false, // a key given twice is an error, not the last one silently winning
    };

    /// <summary>The most cycles any one price may be: a second at 1 GHz, far above the slowest real exit (~10^5).</summary>
    internal const double MaxCycles = 1e9;

    /// <summary>The most entries a TLB array or paging-structure cache may have (the largest real STLB has 3,072).</summary>
    internal const int MaxTlbEntries = 1 << 16;

    /// <summary>The largest cache level in KiB, per level (the largest real L3s are about 100 MiB).</summary>
    internal const int MaxL1Kib = 4 << 10, MaxL2Kib = 64 << 10, MaxL3Kib = 1 << 20;

    /// <summary>The most ways of a cache level or TLB array.</summary>
    internal const int MaxWays = 1 << 10;

    /// <param name="json">The document text.</param>
    /// <param name="origin">How to name the document in errors, e.g. <c>profile file 'x.json'</c>.</param>
    public static CostProfile Parse(string json, string origin)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, Options);
        }
        catch (JsonException e)
        {
            long line = (e.LineNumber ?? 0) + 1;
            throw new ProfileException($"The {origin} is not valid JSON at line {line}: {FirstSentence(e.Message)}", e);
        }

        using (doc)
        {
            var r = new Reader(origin);
            var root = r.Root(doc.RootElement);
            r.Known(root, "", "name", "description", "transitions", "handlers", "walk", "guest", "tlb", "cache", "sources");
            string name = r.String(root, "", "name");
            if (name.Length == 0)
            {
                throw new ProfileException($"The {origin} has an empty 'name'.");
            }

            var t = r.Object(root, "", "transitions");
            r.Known(t, "transitions", "vmexit", "pv_trap", "hypercall");
            var walk = r.Object(root, "", "walk");
            var guest = r.Object(root, "", "guest");
            bool legacy = walk.TryGetProperty("ref_cycles", out _);
            if (legacy)
            {
                // A profile of an earlier release (kept in its reports' metadata): one price per walk reference, no
                // price for instructions, no cache geometry.
                r.Known(walk, "walk", "ref_cycles", "psc_hit_cycles");
                r.Known(guest, "guest", "cycles_per_access", "guest_fault_cycles");
            }
            else
            {
                r.Known(walk, "walk", "l1_cycles", "l2_cycles", "l3_cycles", "memory_cycles", "psc_hit_cycles", "nested_tlb_hit_cycles");
                r.Known(guest, "guest", "cycles_per_access", "cycles_per_insn", "guest_fault_cycles");
            }

            double flat = legacy ? r.Cost(walk, "walk", "ref_cycles") : 0;
            var tlb = r.Tlb(r.Object(root, "", "tlb"));

            return new CostProfile
            {
                Name = name,
                Description = r.OptionalString(root, "description") ?? "",
                Transitions = new TransitionCosts(
                    r.Cost(t, "transitions", "vmexit"), r.Cost(t, "transitions", "pv_trap"), r.Cost(t, "transitions", "hypercall")),
                Handlers = r.Handlers(r.Object(root, "", "handlers")),
                Walk = legacy
                    ? new WalkCosts(flat, flat, flat, flat, r.Cost(walk, "walk", "psc_hit_cycles"), 0)
                    : new WalkCosts(
                        r.Cost(walk, "walk", "l1_cycles"), r.Cost(walk, "walk", "l2_cycles"), r.Cost(walk, "walk", "l3_cycles"),
                        r.Cost(walk, "walk", "memory_cycles"), r.Cost(walk, "walk", "psc_hit_cycles"), r.Cost(walk, "walk", "nested_tlb_hit_cycles")),
                CyclesPerAccess = r.Cost(guest, "guest", "cycles_per_access"),
                CyclesPerInsn = legacy ? 0 : r.Cost(guest, "guest", "cycles_per_insn"),
                GuestFaultCycles = r.Cost(guest, "guest", "guest_fault_cycles"),
                Tlb = legacy && !root.TryGetProperty("cache", out _) ? tlb : tlb with { Caches = r.Caches(r.Object(root, "", "cache")) },
                Sources = r.Sources(root),
                Json = json,
            };
        }
    }

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).Trim();
    }

    private sealed class Reader(string origin)
    {
        private static string Join(string parent, string name) => parent.Length == 0 ? name : $"{parent}.{name}";

        public JsonElement Root(JsonElement root) =>
            root.ValueKind == JsonValueKind.Object ? root : throw new ProfileException($"The {origin} must be a JSON object.");

        public JsonElement Object(JsonElement parent, string parentPath, string name)
        {
            var e = Required(parent, parentPath, name);
            return e.ValueKind == JsonValueKind.Object
                ? e
                : throw new ProfileException($"Field '{Join(parentPath, name)}' of the {origin} must be an object.");
        }

        public void Known(JsonElement obj, string path, params string[] names)
        {
            foreach (var p in obj.EnumerateObject())
            {
                if (Array.IndexOf(names, p.Name) < 0)
                {
                    throw new ProfileException(
                        $"The {origin} has unknown field '{Join(path, p.Name)}'; expected one of {string.Join(", ", names)}.");
                }
            }
        }

        public string String(JsonElement obj, string path, string name)
        {
            var e = Required(obj, path, name);
            return e.ValueKind == JsonValueKind.String
                ? e.GetString()!
                : throw new ProfileException($"Field '{Join(path, name)}' of the {origin} must be a string.");
        }

        public string? OptionalString(JsonElement obj, string name) =>
            obj.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? String(obj, "", name) : null;

        /// <summary>A required number of cycles from 0 to <see cref="MaxCycles"/>.</summary>
        public double Cost(JsonElement obj, string path, string name)
        {
            var e = Required(obj, path, name);
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v) || v < 0 || v > MaxCycles)
            {
                throw new ProfileException($"Field '{Join(path, name)}' of the {origin} must be a number of cycles from 0 to {MaxCycles:0e0} (got {e.GetRawText()}).");
            }

            return v;
        }

        public Dictionary<string, HandlerCost> Handlers(JsonElement obj)
        {
            var result = new Dictionary<string, HandlerCost>(StringComparer.Ordinal);
            foreach (var p in obj.EnumerateObject())
            {
                string path = $"handlers.{p.Name}";
                var h = Object(obj, "handlers", p.Name);
                Known(h, path, "fixed", "per_unit");
                result[p.Name] = new HandlerCost(Cost(h, path, "fixed"), Cost(h, path, "per_unit"));
            }

            return result;
        }

        public TlbGeometry Tlb(JsonElement tlb)
        {
            Known(tlb, "tlb", "l1d_4k", "l1d_2m", "l1d_1g", "l1i_4k", "l1i_2m", "stlb", "psc", "nested_tlb", "ept_psc", "vpid");
            var stlb = TlbArrayAt(tlb, "stlb", required: false, withPageSizes: true, out bool stlb2M, out bool stlb1G);
            var psc = OptionalObject(tlb, "psc");
            if (psc.ValueKind == JsonValueKind.Object)
            {
                Known(psc, "tlb.psc", "pml5", "pml4", "pdpt", "pd");
            }

            var eptPsc = OptionalObject(tlb, "ept_psc");
            if (eptPsc.ValueKind == JsonValueKind.Object)
            {
                Known(eptPsc, "tlb.ept_psc", "pml4", "pdpt", "pd");
            }

            return new TlbGeometry
            {
                L1d4K = TlbArrayAt(tlb, "l1d_4k", required: true, withPageSizes: false, out _, out _),
                L1d2M = TlbArrayAt(tlb, "l1d_2m", required: false, withPageSizes: false, out _, out _),
                L1d1G = TlbArrayAt(tlb, "l1d_1g", required: false, withPageSizes: false, out _, out _),
                L1i4K = TlbArrayAt(tlb, "l1i_4k", required: true, withPageSizes: false, out _, out _),
                L1i2M = TlbArrayAt(tlb, "l1i_2m", required: false, withPageSizes: false, out _, out _),
                Stlb = stlb,
                Stlb2M = stlb2M,
                Stlb1G = stlb1G,
                PscPml5 = PscEntries(psc, "pml5"),
                PscPml4 = PscEntries(psc, "pml4"),
                PscPdpt = PscEntries(psc, "pdpt"),
                PscPd = PscEntries(psc, "pd"),
                NestedTlb = TlbArrayAt(tlb, "nested_tlb", required: false, withPageSizes: false, out _, out _),
                EptPscPml4 = PscEntries(eptPsc, "pml4", "tlb.ept_psc"),
                EptPscPdpt = PscEntries(eptPsc, "pdpt", "tlb.ept_psc"),
                EptPscPd = PscEntries(eptPsc, "pd", "tlb.ept_psc"),
                Vpid = OptionalBool(tlb, "tlb", "vpid") ?? true,
            };
        }

        /// <summary>
        /// The data caches that serve walk references: <c>l1d</c> and <c>l2</c> required, <c>l3</c> null or absent when
        /// the CPU has none; each <c>{ "kib": …, "ways": … }</c> with ways dividing its 64-byte lines.
        /// </summary>
        public CacheGeometry Caches(JsonElement cache)
        {
            Known(cache, "cache", "l1d", "l2", "l3");
            return new CacheGeometry
            {
                L1d = CacheLevel(cache, "l1d", required: true),
                L2 = CacheLevel(cache, "l2", required: true),
                L3 = CacheLevel(cache, "l3", required: false),
            };
        }

        private CacheLevelGeometry? CacheLevel(JsonElement cache, string name, bool required)
        {
            string path = $"cache.{name}";
            if (!cache.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
            {
                return required ? throw new ProfileException($"The {origin} is missing required field '{path}'.") : null;
            }

            var c = Object(cache, "cache", name);
            Known(c, path, "kib", "ways");
            int kib = Count(c, path, "kib", name switch { "l1d" => MaxL1Kib, "l2" => MaxL2Kib, _ => MaxL3Kib });
            int ways = Count(c, path, "ways", MaxWays);
            int lines = kib * 1024 / CacheLevelGeometry.LineBytes;
            if (kib == 0 || ways == 0 || lines % ways != 0)
            {
                throw new ProfileException(
                    $"Field '{path}' of the {origin} needs a positive size whose {CacheLevelGeometry.LineBytes}-byte lines divide into its ways (got {kib} KiB, {ways} ways).");
            }

            return new CacheLevelGeometry(kib, ways);
        }

        /// <summary>An optional true/false field; null when absent.</summary>
        public bool? OptionalBool(JsonElement obj, string path, string name) =>
            !obj.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null ? null
            : e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean()
            : throw new ProfileException($"Field '{Join(path, name)}' of the {origin} must be true or false.");

        /// <summary>An optional object field of <c>tlb</c>: <c>default</c> when absent or null.</summary>
        private JsonElement OptionalObject(JsonElement tlb, string name) =>
            tlb.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? Object(tlb, "tlb", name) : default;

        public Dictionary<string, string> Sources(JsonElement root)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            if (!root.TryGetProperty("sources", out var s) || s.ValueKind == JsonValueKind.Null)
            {
                return result;
            }

            foreach (var p in Object(root, "", "sources").EnumerateObject())
            {
                result[p.Name] = String(s, "sources", p.Name);
            }

            return result;
        }

        private TlbArray? TlbArrayAt(JsonElement tlb, string name, bool required, bool withPageSizes, out bool has2M, out bool has1G)
        {
            has2M = has1G = false;
            string path = $"tlb.{name}";
            if (!tlb.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
            {
                return required
                    ? throw new ProfileException($"The {origin} is missing required field '{path}'.")
                    : null;
            }

            var a = Object(tlb, "tlb", name);
            if (withPageSizes)
            {
                Known(a, path, "entries", "ways", "page_sizes");
                ReadPageSizes(a, path, out has2M, out has1G);
            }
            else
            {
                Known(a, path, "entries", "ways");
            }

            int entries = Count(a, path, "entries", MaxTlbEntries);
            int ways = Count(a, path, "ways", MaxWays);
            if (entries == 0 || ways == 0 || entries % ways != 0)
            {
                throw new ProfileException(
                    $"Field '{path}' of the {origin} needs positive entries divisible by ways (got {entries} entries, {ways} ways).");
            }

            return new TlbArray(entries, ways);
        }

        private void ReadPageSizes(JsonElement a, string path, out bool has2M, out bool has1G)
        {
            var sizes = Required(a, path, "page_sizes");
            var names = sizes.ValueKind == JsonValueKind.Array
                ? sizes.EnumerateArray().Select(s => s.ValueKind == JsonValueKind.String ? s.GetString() : null).ToList()
                : [];
            has2M = names.Contains("2m");
            has1G = names.Contains("1g");
            if (!names.Contains("4k") || names.Any(n => n is not ("4k" or "2m" or "1g")))
            {
                throw new ProfileException(
                    $"Field '{path}.page_sizes' of the {origin} must be a list of \"4k\", \"2m\", \"1g\" that includes \"4k\".");
            }
        }

        private int PscEntries(JsonElement psc, string name, string path = "tlb.psc") =>
            psc.ValueKind == JsonValueKind.Object && psc.TryGetProperty(name, out _) ? Count(psc, path, name, MaxTlbEntries) : 0;

        /// <summary>A required whole number from 0 to <paramref name="max"/>, a physically sane size.</summary>
        private int Count(JsonElement obj, string path, string name, int max)
        {
            var e = Required(obj, path, name);
            return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) && v >= 0 && v <= max
                ? v
                : throw new ProfileException($"Field '{Join(path, name)}' of the {origin} must be a whole number from 0 to {max} (got {e.GetRawText()}).");
        }

        private JsonElement Required(JsonElement obj, string path, string name) =>
            obj.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null
                ? e
                : throw new ProfileException($"The {origin} is missing required field '{Join(path, name)}'.");
    }
}
