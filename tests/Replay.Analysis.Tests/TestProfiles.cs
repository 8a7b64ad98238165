using Replay.Analysis.Costs;

namespace Replay.Analysis.Tests;

/// <summary>A profile with round numbers so expected cycles can be worked out by hand in comments.</summary>
internal static class TestProfiles
{
    public const string RoundJson = """
        {
          "name": "round",
          "description": "round numbers for hand-checked arithmetic",
          "transitions": { "vmexit": 1000, "pv_trap": 100, "hypercall": 50 },
          "handlers": {
            "shadow_fill": { "fixed": 500, "per_unit": 200 },
            "guest_pf_reflect": { "fixed": 400, "per_unit": 0 },
            "cr3_flush": { "fixed": 300, "per_unit": 2 },
            "mmu_update": { "fixed": 70, "per_unit": 20 }
          },
          "walk": { "l1_cycles": 10, "l2_cycles": 20, "l3_cycles": 40, "memory_cycles": 100, "psc_hit_cycles": 2, "nested_tlb_hit_cycles": 1 },
          "guest": { "cycles_per_access": 1, "cycles_per_insn": 0.5, "guest_fault_cycles": 1000 },
          "tlb": {
            "l1d_4k": { "entries": 64, "ways": 4 },
            "l1i_4k": { "entries": 64, "ways": 4 },
            "stlb": { "entries": 512, "ways": 4, "page_sizes": ["4k"] }
          },
          "cache": { "l1d": { "kib": 32, "ways": 8 }, "l2": { "kib": 256, "ways": 4 }, "l3": { "kib": 8192, "ways": 16 } }
        }
        """;

    public static CostProfile Round { get; } = ProfileCatalog.Parse(RoundJson, "test profile 'round'");
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "replay-analysis-tests", Guid.NewGuid().ToString("N"));

    public TempDir() => Directory.CreateDirectory(Path);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
