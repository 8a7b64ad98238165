using Replay.Engines.Guest;
using Replay.Engines.Registry;

namespace Replay.Engines.Tests.Engines;

/// <summary>The registry outside the contract: every engine declares its exit kinds once, and they are what it takes.</summary>
public sealed class EngineRegistryTests
{
    public static TheoryData<string> Names() => new(EngineRegistry.All.Select(d => d.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void A_descriptor_declares_exactly_the_exit_kinds_its_engine_takes(string name)
    {
        var d = EngineRegistry.Find(name)!;
        foreach (string options in d.Options.Where(o => o.Choices is not null).SelectMany(o => o.Choices!.Select(c => $"{o.Name}={c}")).Prepend(""))
        {
            var engine = EngineRegistry.Parse(options.Length == 0 ? name : $"{name}:{options}").Create(MachineConfig.Default());
            Assert.Equal(d.ExitKinds, engine.ExitKinds);
            Assert.Equal(engine.ExitKinds.Count, engine.Stats.ExitCounts.Length);
            Assert.Equal(engine.CounterNames.Count, engine.CounterNames.Distinct().Count());
        }
    }

    [Fact]
    public void Every_engine_but_native_declares_exit_kinds()
    {
        Assert.All(EngineRegistry.All.Where(d => d.Name != EngineRegistry.NativeName), d => Assert.NotEmpty(d.ExitKinds));
        Assert.Empty(EngineRegistry.Find("native")!.ExitKinds);
    }

    [Fact]
    public void The_contract_depends_on_no_engine()
    {
        // Every type a contract type's members name is the contract's own, the shared machine's (paging primitives,
        // guest, TLB, caches, trace) or the runtime's: never an engine's folder, a part, or the registry, which lists
        // the engines.
        string[] allowed = ["Replay.Engines.Contract", "Replay.Engines.Paging", "Replay.Engines.Guest", "Replay.Engines.Tlb", "Replay.Engines.Caches", "Replay.Engines.Trace"];
        const System.Reflection.BindingFlags All = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic
            | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.DeclaredOnly;
        var contract = typeof(Contract.IMmuEngine).Assembly.GetTypes().Where(t => t.Namespace == "Replay.Engines.Contract").ToList();
        Assert.Contains(contract, t => t.Name == "EngineDescriptor");
        Assert.DoesNotContain(contract, t => t.Name is "EngineRegistry" or "EngineSpec");
        foreach (var t in contract)
        {
            var named = t.GetFields(All).Select(f => f.FieldType)
                .Concat(t.GetProperties(All).Select(p => p.PropertyType))
                .Concat(t.GetMethods(All).SelectMany(m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType)))
                .Concat(t.GetConstructors(All).SelectMany(c => c.GetParameters().Select(p => p.ParameterType)))
                .SelectMany(Expand);
            Assert.All(named.Where(n => n.Namespace?.StartsWith("Replay.", StringComparison.Ordinal) == true),
                n => Assert.True(allowed.Contains(n.Namespace), $"{t.Name} names {n.FullName}"));
        }
    }

    private static IEnumerable<Type> Expand(Type t)
    {
        var e = t.HasElementType ? t.GetElementType()! : t;
        return e.IsGenericType ? e.GetGenericArguments().SelectMany(Expand).Prepend(e) : [e];
    }
}
