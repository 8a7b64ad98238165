using Replay.Engines.Contract;
using Replay.Engines.Guest;
using Replay.Engines.Native;
using Replay.Engines.Paging;
using Replay.Engines.ShadowFlush;
using static Replay.Engines.Tests.Engines.ShadowCachedXenTests;

namespace Replay.Engines.Tests.Engines;

/// <summary>
/// Properties of shadow-cached on generated traces: every translation equals a fresh guest walk (TestTrace
/// replays with <c>--verify</c> on, which throws at the first mismatch), and without page-table writes the
/// cached shadows never take more hidden faults than flush-on-switch shadows.
/// </summary>
public sealed class ShadowCachedPropertyTests
{
    private const ulong K = 0xFFFF_8880_0000_0000;

    public static TheoryData<string, int, int> Configurations()
    {
        var data = new TheoryData<string, int, int>();
        foreach (string o in new[] { "", "personality=kvm", "oos=false", "personality=kvm,oos=false", "pool_pages=8", "personality=kvm,pool_pages=8", "prefetch=1", "early_unshadow=false" })
        {
            data.Add(o, 1, 1);
            data.Add(o, 7, 3);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Every_translation_equals_the_reference_walk_on_a_trace_that_remaps_and_tears_down(string options, int seed, int vcpus)
    {
        var t = RandomTrace(seed, vcpus, pageTableWrites: true);
        var config = MachineConfig.Default(vcpus: vcpus);
        var e = t.Run(Engine(options, config)); // throws VerifyException on the first wrong translation
        var native = t.Run(new NativeEngine(config));
        Assert.Equal(native.Stats.GuestFaults, e.Stats.GuestFaults);
        Assert.True(e.Stats.EmulatedWrites + e.Stats.Unsyncs > 0);
        Assert.True(e.Stats.ShadowPagesPeak <= Math.Max(e.Options.PoolPages, 16));
    }

    [Theory]
    [InlineData("pool_pages=8", 5, 2)]
    [InlineData("pool_pages=8", 6, 3)]
    [InlineData("personality=kvm,pool_pages=8", 5, 2)]
    [InlineData("", 8, 2)]
    public void With_pcids_kept_across_cr3_loads_freed_shadow_pages_are_never_reached_through_stale_caches(string options, int seed, int vcpus)
    {
        // CR3 loads with bit 63 keep each PCID's TLB and paging-structure-cache entries; a small pool frees and
        // reuses shadow pages (and their ids) underneath them.
        var t = RandomTrace(seed, vcpus, pageTableWrites: false, pcid: true);
        var config = MachineConfig.Default(vcpus: vcpus, pcid: true);
        var e = t.Run(Engine(options, config));
        Assert.Equal(t.Run(new NativeEngine(config)).Stats.GuestFaults, e.Stats.GuestFaults);
    }

    [Theory]
    [InlineData("", 1, 1)]
    [InlineData("", 2, 2)]
    [InlineData("personality=kvm", 3, 1)]
    [InlineData("personality=kvm", 4, 3)]
    public void Without_page_table_writes_cached_shadows_never_take_more_hidden_faults_than_flushed_ones(string options, int seed, int vcpus)
    {
        var t = RandomTrace(seed, vcpus, pageTableWrites: false);
        var config = MachineConfig.Default(vcpus: vcpus);
        var cached = t.Run(Engine(options, config));
        var flush = t.Run(new ShadowFlushEngine(config));
        long HiddenFaults(IMmuEngine e) => e.Count("shadow_fill") + e.Count("guest_pf_reflect");
        Assert.True(HiddenFaults(cached) <= HiddenFaults(flush), $"cached {HiddenFaults(cached)} > flush {HiddenFaults(flush)}");
        Assert.True(HiddenFaults(cached) * 2 < HiddenFaults(flush), "switching back to a known address space should mostly hit cached shadows");
        Assert.Equal(0, cached.Stats.EmulatedWrites);
        Assert.Equal(flush.Stats.GuestFaults, cached.Stats.GuestFaults);
    }

    /// <summary>
    /// Three address spaces with user pages and shared global kernel pages, accesses on every vCPU, CR3
    /// switches, INVLPG and flushes; with <paramref name="pageTableWrites"/>, mapping, remapping, write
    /// protecting and tearing down leaves (and whole page tables) as a guest kernel would, each narrowing
    /// followed by an INVLPG on every vCPU (a shootdown), so the trace stays well formed.
    /// </summary>
    internal static TestTrace RandomTrace(int seed, int vcpus, bool pageTableWrites, bool pcid = false)
    {
        var rng = new Random(seed);
        var t = new TestTrace();
        var roots = new[] { t.NewRoot(), t.NewRoot(), t.NewRoot() };
        var mapped = roots.ToDictionary(r => r, _ => new HashSet<ulong>());
        ulong NewVa() => ((ulong)rng.Next(2) << 30) | ((ulong)rng.Next(4) << 21) | ((ulong)rng.Next(24) << 12);
        foreach (ulong root in roots)
        {
            for (int i = 0; i < 20; i++)
            {
                ulong va = NewVa();
                t.Map(root, va, 0x1000 + (ulong)rng.Next(4096));
                mapped[root].Add(va);
            }

            for (ulong k = 0; k < 4; k++)
            {
                t.Map(root, K + (k << 12), 0x900 + k, TestTrace.KernelRwGlobal);
            }
        }

        var current = new ulong[vcpus];
        void Load(int vcpu, ulong root)
        {
            current[vcpu] = root;
            if (pcid)
            {
                // Without page-table writes nothing is ever stale: every load may keep the PCID's entries.
                t.Cr3(root, pcid: (ushort)(Array.IndexOf(roots, root) + 1), noFlush: !pageTableWrites, vcpu: vcpu);
            }
            else
            {
                t.Cr3(root, vcpu: vcpu);
            }
        }

        for (int v = 0; v < vcpus; v++)
        {
            Load(v, roots[v % roots.Length]);
        }

        void Shootdown(ulong va)
        {
            for (int v = 0; v < vcpus; v++)
            {
                t.Invlpg(va, vcpu: v);
            }
        }

        for (int i = 0; i < 4000; i++)
        {
            int vcpu = rng.Next(vcpus);
            int op = rng.Next(100);
            ulong root = current[vcpu];
            if (op < 60)
            {
                ulong va = rng.Next(4) == 0 ? NewVa() : mapped[root].ElementAtOrDefault(rng.Next(Math.Max(1, mapped[root].Count)));
                switch (rng.Next(3))
                {
                    case 0: t.Read(va, vcpu: vcpu); break;
                    case 1: t.Write(va, vcpu: vcpu); break;
                    default: t.Fetch(va, vcpu: vcpu); break;
                }
            }
            else if (op < 64)
            {
                t.Read(K + ((ulong)rng.Next(4) << 12), user: false, vcpu: vcpu);
            }
            else if (op < 74)
            {
                Load(vcpu, roots[rng.Next(roots.Length)]);
            }
            else if (op < 78)
            {
                t.Invlpg(NewVa(), vcpu: vcpu);
            }
            else if (op < 80)
            {
                t.Flush(all: rng.Next(2) == 0, vcpu: vcpu);
            }
            else if (pageTableWrites)
            {
                ulong target = roots[rng.Next(roots.Length)];
                ulong va = NewVa();
                int kind = rng.Next(10);
                if (!mapped[target].Contains(va))
                {
                    t.Map(target, va, 0x1000 + (ulong)rng.Next(4096), init: false); // widening: no invalidation needed
                    mapped[target].Add(va);
                }
                else if (kind < 4)
                {
                    t.SetLeaf(target, va, 0); // munmap
                    mapped[target].Remove(va);
                    Shootdown(va);
                }
                else if (kind < 7)
                {
                    t.SetLeaf(target, va, Leaf(0x1000 + (ulong)rng.Next(4096))); // remap to another frame
                    Shootdown(va);
                }
                else if (kind < 9)
                {
                    t.SetLeaf(target, va, (0x1000 + (ulong)rng.Next(4096)) << 12 | Pte.Present | Pte.Us); // read-only (COW)
                    Shootdown(va);
                }
                else
                {
                    // Tear down the whole page table: zero every mapped leaf in it, then the PD entry.
                    ulong table = t.TableOf(target, va, 1);
                    foreach (ulong other in mapped[target].Where(o => t.TableOf(target, o, 1) == table).ToList())
                    {
                        t.SetLeaf(target, other, 0);
                        mapped[target].Remove(other);
                    }

                    t.PtWrite(t.EntryOf(target, va, 2), 0);
                    for (int v = 0; v < vcpus; v++)
                    {
                        t.Flush(all: false, vcpu: v);
                    }
                }
            }
        }

        return t;
    }
}
