using System.Text;
using System.Text.RegularExpressions;

namespace Replay.Engines.Tests.Architecture;

/// <summary>One namespace's dependency on another, with where the source says so (file:line and the text).</summary>
public sealed record NamespaceEdge(string From, string To, string Evidence);

/// <summary>
/// The namespace dependency graph of a C# source tree, read from its text as the compiler resolves names: a
/// <c>using</c> directive (plain, static or alias) depends on the namespace it names; a dotted name in code
/// depends on namespace N when its leading parts name N relative to the file's namespace or one of its parents (as
/// C# looks names up) and the next part is a type declared in N (<c>Caches.CachePressure</c> inside
/// <c>Replay.Engines.Guest</c>). Comments, strings and character literals are not code. A file must declare one
/// file-scoped namespace.
/// </summary>
public sealed partial class NamespaceGraph
{
    private readonly Dictionary<string, HashSet<string>> _types = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, SortedDictionary<string, string>> _edges = new(StringComparer.Ordinal);

    private NamespaceGraph()
    {
    }

    /// <summary>The namespaces declared in the files read.</summary>
    public IReadOnlyCollection<string> Namespaces => _types.Keys;

    /// <summary>Every edge between two different namespaces, each with the first place (by file order) that makes it.</summary>
    public IEnumerable<NamespaceEdge> Edges =>
        _edges.SelectMany(from => from.Value.Select(to => new NamespaceEdge(from.Key, to.Key, to.Value)));

    /// <summary>The graph of <paramref name="files"/> (path as it should be reported, source text), in path order.</summary>
    public static NamespaceGraph Read(IEnumerable<(string Path, string Text)> files)
    {
        var g = new NamespaceGraph();
        var parsed = files.OrderBy(f => f.Path, StringComparer.Ordinal)
            .Select(f => (f.Path, Code: CodeOnly(f.Text)))
            .Select(f => (f.Path, f.Code, Namespace: NamespaceOf(f.Path, f.Code)))
            .ToList();
        foreach (var (_, code, ns) in parsed)
        {
            var types = g.TypesOf(ns.Name);
            foreach (Match m in TypeDeclaration().Matches(code))
            {
                types.Add(m.Groups[1].Value);
            }
        }

        foreach (var (path, code, ns) in parsed)
        {
            g.ReadReferences(path, code, ns.Name, ns.Line);
        }

        return g;
    }

    /// <summary>The graph of every <c>.cs</c> file below <paramref name="root"/> (bin and obj left out), paths relative to it.</summary>
    public static NamespaceGraph ReadTree(string root) =>
        Read(Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(p => !Path.GetRelativePath(root, p).Split(Path.DirectorySeparatorChar).Any(d => d is "bin" or "obj"))
            .Select(p => (Path.GetRelativePath(root, p).Replace('\\', '/'), File.ReadAllText(p))));

    /// <summary>
    /// Every cycle among the namespaces that start with <paramref name="prefix"/>: one per strongly connected
    /// component of two or more namespaces, as a closed walk of edges (the last edge returns to the first namespace).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<NamespaceEdge>> Cycles(string prefix)
    {
        bool In(string n) => n == prefix || n.StartsWith(prefix + ".", StringComparison.Ordinal);
        var nodes = _types.Keys.Concat(_edges.Values.SelectMany(e => e.Keys)).Where(In).Distinct().Order(StringComparer.Ordinal).ToList();
        IEnumerable<string> Next(string n) => _edges.TryGetValue(n, out var to) ? to.Keys.Where(In) : [];

        // Tarjan's strongly connected components.
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var components = new List<List<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in Next(v))
            {
                if (index.TryGetValue(w, out int seen))
                {
                    if (onStack.Contains(w))
                    {
                        low[v] = Math.Min(low[v], seen);
                    }
                }
                else
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                if (component.Count > 1)
                {
                    components.Add(component);
                }
            }
        }

        foreach (var n in nodes.Where(n => !index.ContainsKey(n)))
        {
            Visit(n);
        }

        return components.Select(c => (IReadOnlyList<NamespaceEdge>)ShortestCycle(c, Next)).OrderBy(c => c[0].From, StringComparer.Ordinal).ToList();
    }

    // The shortest cycle through the component's first namespace (by name), found breadth-first inside the component.
    private List<NamespaceEdge> ShortestCycle(List<string> component, Func<string, IEnumerable<string>> next)
    {
        var members = component.ToHashSet();
        string start = component.Min(StringComparer.Ordinal)!;
        var cameFrom = new Dictionary<string, string>();
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            string v = queue.Dequeue();
            foreach (var w in next(v).Where(members.Contains))
            {
                if (w == start)
                {
                    var path = new List<NamespaceEdge> { Edge(v, w) };
                    for (string at = v; at != start; at = cameFrom[at])
                    {
                        path.Insert(0, Edge(cameFrom[at], at));
                    }

                    return path;
                }

                if (cameFrom.TryAdd(w, v))
                {
                    queue.Enqueue(w);
                }
            }
        }

        throw new InvalidOperationException($"{start} is in a strongly connected component but on no cycle");
    }

    private NamespaceEdge Edge(string from, string to) => new(from, to, _edges[from][to]);

    private HashSet<string> TypesOf(string ns)
    {
        if (!_types.TryGetValue(ns, out var types))
        {
            _types[ns] = types = new HashSet<string>(StringComparer.Ordinal);
        }

        return types;
    }

    private void ReadReferences(string path, string code, string ns, int namespaceLine)
    {
        var lines = code.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (i < namespaceLine)
            {
                var u = UsingDirective().Match(line);
                if (u.Success && NamespaceNamed(u.Groups[1].Value) is { } target)
                {
                    AddEdge(ns, target, $"{path}:{i + 1}: using {u.Groups[1].Value}");
                }

                continue;
            }

            foreach (Match m in DottedName().Matches(line))
            {
                var parts = WhiteSpace().Replace(m.Value, "").Split('.');
                if (QualifiedTypeNamespace(ns, parts) is { } target)
                {
                    AddEdge(ns, target, $"{path}:{i + 1}: {string.Join('.', parts)}");
                }
            }
        }
    }

    // The longest declared namespace that the directive's name is or starts with (a using static or an alias names a type).
    private string? NamespaceNamed(string name) =>
        _types.Keys.Where(n => name == n || name.StartsWith(n + ".", StringComparison.Ordinal)).MaxBy(n => n.Length);

    // C# looks a qualified name's first part up in the file's namespace, then each enclosing one, then the global one.
    private string? QualifiedTypeNamespace(string ns, string[] parts)
    {
        for (string? scope = ns; ; scope = Parent(scope))
        {
            for (int k = parts.Length - 1; k >= 1; k--)
            {
                string candidate = string.Join('.', parts[..k]);
                candidate = scope is null ? candidate : scope + "." + candidate;
                if (_types.TryGetValue(candidate, out var types) && types.Contains(parts[k]))
                {
                    return candidate;
                }
            }

            if (scope is null)
            {
                return null;
            }
        }
    }

    private static string? Parent(string ns)
    {
        int dot = ns.LastIndexOf('.');
        return dot < 0 ? null : ns[..dot];
    }

    private void AddEdge(string from, string to, string evidence)
    {
        if (from == to)
        {
            return;
        }

        if (!_edges.TryGetValue(from, out var targets))
        {
            _edges[from] = targets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        }

        targets.TryAdd(to, evidence);
    }

    private static (string Name, int Line) NamespaceOf(string path, string code)
    {
        var lines = code.Split('\n');
        var found = lines.Select((l, i) => (Match: FileScopedNamespace().Match(l), Line: i)).Where(x => x.Match.Success).ToList();
        if (found.Count != 1)
        {
            throw new InvalidDataException($"{path}: expected one file-scoped namespace declaration, found {found.Count}");
        }

        return (found[0].Match.Groups[1].Value, found[0].Line);
    }

    /// <summary>
    /// The text with comments, string literals (regular, verbatim, raw; an interpolated string's holes stay code)
    /// and character literals blanked to spaces, newlines kept, so line numbers still match the file.
    /// </summary>
    public static string CodeOnly(string text)
    {
        var sb = new StringBuilder(text.Length);
        int i = 0;
        void Blank(int end)
        {
            for (; i < end && i < text.Length; i++)
            {
                sb.Append(text[i] == '\n' ? '\n' : ' ');
            }
        }

        while (i < text.Length)
        {
            char c = text[i];
            char n = i + 1 < text.Length ? text[i + 1] : '\0';
            if (c == '/' && n == '/')
            {
                int end = text.IndexOf('\n', i);
                Blank(end < 0 ? text.Length : end);
            }
            else if (c == '/' && n == '*')
            {
                int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                Blank(end < 0 ? text.Length : end + 2);
            }
            else if (c == '\'')
            {
                int j = i + 1;
                while (j < text.Length && text[j] != '\'' && text[j] != '\n')
                {
                    j += text[j] == '\\' ? 2 : 1;
                }

                Blank(j + 1);
            }
            else if (c is '"' or '$' or '@' && StringStart(text, i) is { } s)
            {
                Blank(s.Quote + Math.Max(1, s.RawQuotes));
                BlankStringBody(text, ref i, sb, s.Verbatim, s.Interpolated, s.RawQuotes);
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }

        return sb.ToString();
    }

    // A string literal starting at i: where its opening quote is, its kind, and its raw-string quote count (0 if not raw).
    private static (int Quote, bool Verbatim, bool Interpolated, int RawQuotes)? StringStart(string text, int i)
    {
        int j = i;
        bool verbatim = false, interpolated = false;
        while (j < text.Length && text[j] is '$' or '@')
        {
            verbatim |= text[j] == '@';
            interpolated |= text[j] == '$';
            j++;
        }

        if (j >= text.Length || text[j] != '"')
        {
            return null;
        }

        int quotes = 0;
        while (j + quotes < text.Length && text[j + quotes] == '"')
        {
            quotes++;
        }

        return (j, verbatim, interpolated, quotes >= 3 ? quotes : 0);
    }

    private static void BlankStringBody(string text, ref int i, StringBuilder sb, bool verbatim, bool interpolated, int rawQuotes)
    {
        while (i < text.Length)
        {
            char c = text[i];
            if (rawQuotes > 0 && text.AsSpan(i).StartsWith(new string('"', rawQuotes)))
            {
                sb.Append(' ', rawQuotes);
                i += rawQuotes;
                return;
            }

            if (rawQuotes == 0 && c == '"')
            {
                if (verbatim && i + 1 < text.Length && text[i + 1] == '"')
                {
                    sb.Append("  ");
                    i += 2;
                    continue;
                }

                sb.Append(' ');
                i++;
                return;
            }

            if (rawQuotes == 0 && !verbatim && c == '\\')
            {
                sb.Append(' ');
                i++;
                if (i < text.Length)
                {
                    sb.Append(text[i] == '\n' ? '\n' : ' ');
                    i++;
                }

                continue;
            }

            if (interpolated && c == '{')
            {
                if (i + 1 < text.Length && text[i + 1] == '{')
                {
                    sb.Append("  ");
                    i += 2;
                    continue;
                }

                // A hole is code up to its closing brace (a hole holding a string or a nested brace is not expected here).
                int depth = 0;
                for (; i < text.Length; i++)
                {
                    char h = text[i];
                    depth += h == '{' ? 1 : h == '}' ? -1 : 0;
                    sb.Append(h is '{' or '}' or '"' ? ' ' : h);
                    if (depth == 0)
                    {
                        i++;
                        break;
                    }
                }

                continue;
            }

            sb.Append(c == '\n' ? '\n' : ' ');
            i++;
        }
    }

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*;")]
    private static partial Regex FileScopedNamespace();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?([\w.]+)\s*;")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record)\s+@?(\w+)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"(?<![\w.])(?<!\.\s+)@?[A-Za-z_]\w*(?:\s*\.\s*@?[A-Za-z_]\w*)+")]
    private static partial Regex DottedName();

    [GeneratedRegex(@"[\s@]+")]
    private static partial Regex WhiteSpace();
}
