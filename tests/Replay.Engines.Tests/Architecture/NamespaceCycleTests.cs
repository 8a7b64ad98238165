namespace Replay.Engines.Tests.Architecture;

/// <summary>
/// The engines' namespaces depend one way only (issue 16): Paging (entry bits, geometry, translations) ← Caches ←
/// Tlb ← Guest (memory, walker, machine) ← Contract (events, stats, hooks, the replay loop) ← Parts ← engines ←
/// Registry, with Trace beside Caches. Read from the source text, so a <c>using</c> added for one type is enough to
/// fail it.
/// </summary>
public sealed class NamespaceCycleTests
{
    [Fact]
    public void The_engine_namespaces_form_no_cycle()
    {
        var g = NamespaceGraph.ReadTree(EnginesSource());

        var cycles = g.Cycles("Replay.Engines");

        Assert.True(cycles.Count == 0, "namespace cycles in src/Engines:\n" + string.Join("\n", cycles.Select(Describe)));
    }

    [Fact]
    public void The_source_tree_is_read_so_the_check_is_not_vacuous()
    {
        var g = NamespaceGraph.ReadTree(EnginesSource());

        // Dependencies every layer has: if the reader missed the files or the usings, these would be gone.
        Assert.Contains("Replay.Engines.Paging", g.Namespaces);
        Assert.Contains(g.Edges, e => e is { From: "Replay.Engines.Contract", To: "Replay.Engines.Guest" });
        Assert.Contains(g.Edges, e => e is { From: "Replay.Engines.Guest", To: "Replay.Engines.Tlb" });
        Assert.Contains(g.Edges, e => e is { From: "Replay.Engines.Tlb", To: "Replay.Engines.Caches" });
        Assert.Contains(g.Edges, e => e is { From: "Replay.Engines.Caches", To: "Replay.Engines.Paging" });
        // The bottom layer depends on nothing of the engines.
        Assert.DoesNotContain(g.Edges, e => e.From == "Replay.Engines.Paging");
    }

    [Fact]
    public void A_using_each_way_is_a_cycle_named_with_file_and_line()
    {
        var g = NamespaceGraph.Read(
        [
            ("A/X.cs", "using Replay.Engines.B;\n\nnamespace Replay.Engines.A;\n\npublic sealed class X { Y? y; }\n"),
            ("B/Y.cs", "namespace Replay.Engines.B;\n\npublic sealed class Y\n{\n    Replay.Engines.A.X? x;\n}\n"),
            ("C/Z.cs", "using Replay.Engines.A;\n\nnamespace Replay.Engines.C;\n\npublic sealed class Z;\n"),
        ]);

        var cycle = Assert.Single(g.Cycles("Replay.Engines"));

        // A → B by A's using (line 1), B → A by the fully qualified field (line 5); C only depends, so it is not in it.
        Assert.Equal(
        [
            new NamespaceEdge("Replay.Engines.A", "Replay.Engines.B", "A/X.cs:1: using Replay.Engines.B"),
            new NamespaceEdge("Replay.Engines.B", "Replay.Engines.A", "B/Y.cs:5: Replay.Engines.A.X"),
        ], cycle);
    }

    [Fact]
    public void A_name_qualified_from_a_parent_namespace_is_a_dependency_and_a_member_chain_is_not()
    {
        var g = NamespaceGraph.Read(
        [
            ("Caches/P.cs", "namespace Replay.Engines.Caches;\n\npublic sealed record CachePressure;\n"),
            ("Parts/Nested/N.cs", "namespace Replay.Engines.Parts.Nested;\n\npublic static class EptMap;\n"),
            ("Guest/M.cs",
                "namespace Replay.Engines.Guest;\n" +
                "public sealed class M\n" +
                "{\n" +
                "    public object Caches => 0;\n" +
                "    public object Read() => Caches.ToString() + this.Caches.GetHashCode();\n" + // a property, not the namespace
                "    public Caches.CachePressure P { get; } = new();\n" +                      // line 6: Replay.Engines.Caches
                "}\n"),
            ("Parts/Shadow/S.cs",
                "namespace Replay.Engines.Parts.Shadow;\n" +
                "public static class S\n" +
                "{\n" +
                "    // Guest.M in a comment, and \"Guest.M\" in a string, are not code.\n" +
                "    public static string Name = $\"{Nested.EptMap.Equals(null, null)} and Guest.M\";\n" + // line 5: the hole is code
                "}\n"),
        ]);

        Assert.Equal(
        [
            new NamespaceEdge("Replay.Engines.Guest", "Replay.Engines.Caches", "Guest/M.cs:6: Caches.CachePressure"),
            new NamespaceEdge("Replay.Engines.Parts.Shadow", "Replay.Engines.Parts.Nested", "Parts/Shadow/S.cs:5: Nested.EptMap.Equals"),
        ], g.Edges);
        Assert.Empty(g.Cycles("Replay.Engines"));
    }

    [Fact]
    public void A_cycle_of_three_is_reported_once_as_its_shortest_walk()
    {
        var g = NamespaceGraph.Read(
        [
            ("a.cs", "using Replay.Engines.B;\nnamespace Replay.Engines.A;\nclass TA;\n"),
            ("b.cs", "using Replay.Engines.C;\nnamespace Replay.Engines.B;\nclass TB;\n"),
            ("c.cs", "using Replay.Engines.A;\nusing static Replay.Engines.B.TB;\nnamespace Replay.Engines.C;\nclass TC;\n"),
        ]);

        // One component {A, B, C}; the walk from A (the first name): A → B → C → A (C → B closes no shorter walk back to A).
        var cycle = Assert.Single(g.Cycles("Replay.Engines"));
        Assert.Equal(["Replay.Engines.A", "Replay.Engines.B", "Replay.Engines.C"], cycle.Select(e => e.From));
        Assert.Equal("c.cs:1: using Replay.Engines.A", cycle[2].Evidence);
    }

    [Fact]
    public void A_file_without_a_file_scoped_namespace_is_refused_by_name()
    {
        var e = Assert.Throws<InvalidDataException>(() => NamespaceGraph.Read([("Odd.cs", "namespace Replay.Engines.A\n{\n}\n")]));

        Assert.Equal("Odd.cs: expected one file-scoped namespace declaration, found 0", e.Message);
    }

    private static string Describe(IReadOnlyList<NamespaceEdge> cycle) =>
        string.Join(" → ", cycle.Select(e => e.From).Append(cycle[0].From)) + "\n" +
        string.Join("\n", cycle.Select(e => $"    {e.From} → {e.To}: {e.Evidence}"));

    private static string EnginesSource()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Replay.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("Replay.sln not found above " + AppContext.BaseDirectory), "src", "Engines");
    }
}
