using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Replay.Analysis.Costs;
using Replay.Cli;

namespace Replay.Sweep;

/// <summary>
/// How every cell of a sweep is replayed: the <c>run</c> options a sweep passes through to every cell (<c>--window</c>,
/// <c>--verify</c>, <c>--strict</c>, and the row range <c>--skip</c>, <c>--warmup</c>, <c>--limit</c>), recorded in the
/// grid and the manifest. A grid written before the row range existed reads as the whole trace.
/// </summary>
internal sealed record SweepSettings(long Window, bool Verify, bool Strict, long Skip = 0, long Warmup = 0, long? Limit = null)
{
    /// <summary>Whether a row range is set (a plain run's settings hash as they did before the range existed).</summary>
    public bool HasRowRange => Skip != 0 || Warmup != 0 || Limit is not null;

    /// <summary>The row range as the inputs hash takes it: <c>skip=S,warmup=W,limit=L</c> (L empty: to the end).</summary>
    public string RowRange => string.Create(CultureInfo.InvariantCulture, $"skip={Skip},warmup={Warmup},limit={Limit}");
}

/// <summary>
/// One cell: one trace through one engine configuration under one profile, replayed as
/// <c>replay run TRACE --engine ENGINE --profile PROFILE --out FOLDER</c>. <see cref="InputsSha256"/> hashes everything
/// the cell's counts depend on (engine, profile document, trace bytes, settings, replay version), so a rerun of the
/// sweep skips a cell whose recorded hash is the same.
/// </summary>
internal sealed record SweepCell(
    int Index,
    string Engine,
    string Profile,
    string ProfileArg,
    string Trace,
    string TracePath,
    string TraceSha256,
    string? Recipe,
    string Folder,
    string InputsSha256);

/// <summary>
/// The expanded grid (traces × engine configurations × profiles, in that nesting order), saved as
/// <c>_sweep/grid.json</c> in the output folder so Slurm tasks and the final step read the same cells.
/// </summary>
internal sealed class SweepPlan
{
    public const string SweepFolder = "_sweep";
    public const string GridFile = "grid.json";

    public required string OutDir { get; init; }

    public required SweepSettings Settings { get; init; }

    public required string Version { get; init; }

    public required string Commit { get; init; }

    public required string Command { get; init; }

    public required IReadOnlyList<SweepCell> Cells { get; init; }

    /// <summary>Slurm only: the cells (indexes into <see cref="Cells"/>) each array task runs.</summary>
    public IReadOnlyList<int[]> Tasks { get; set; } = [];

    public string GridPath => Path.Combine(OutDir, SweepFolder, GridFile);

    public string CellDir(SweepCell c) => Path.Combine(OutDir, c.Folder);

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Every engine entry expanded and parsed (<see cref="EngineGrid"/>), repeats dropped, in order.</summary>
    public static IReadOnlyList<string> Engines(IEnumerable<(string Entry, string Where)> engines)
    {
        var specs = new List<string>();
        foreach (var (entry, where) in engines)
        {
            specs.AddRange(EngineGrid.Expand(entry, where).Select(s => s.CanonicalName).Where(s => !specs.Contains(s)));
        }

        return specs;
    }

    /// <summary>Every profile resolved: its report name, the argument a cell passes (name, or absolute file path), its document's hash.</summary>
    public static IReadOnlyList<(string Name, string Arg, string JsonSha)> Profiles(IEnumerable<(string Entry, string Where)> profiles)
    {
        var list = new List<(string Name, string Arg, string JsonSha)>();
        foreach (var (entry, where) in profiles)
        {
            CostProfile p;
            try
            {
                p = ProfileCatalog.Resolve(entry);
            }
            catch (ProfileException e)
            {
                throw new SweepUsageException($"{where} '{entry}': {e.Message}");
            }

            string arg = ProfileCatalog.BuiltIn.Any(b => string.Equals(b.Name, entry, StringComparison.OrdinalIgnoreCase)) ? p.Name : Path.GetFullPath(entry);
            if (list.FirstOrDefault(x => x.Name == p.Name) is { Name: not null } other && other.Arg != arg)
            {
                throw new SweepUsageException($"{where}: profiles '{other.Arg}' and '{arg}' are both named '{p.Name}'; a report names a profile by its name, so rename one.");
            }

            if (!list.Any(x => x.Arg == arg))
            {
                list.Add((p.Name, arg, Hex(SHA256.HashData(Encoding.UTF8.GetBytes(p.Json)))));
            }
        }

        return list;
    }

    /// <summary>
    /// The cells of traces × engines × profiles (traces outermost), each trace hashed (recipes generated by now).
    /// </summary>
    public static SweepPlan Build(
        string outDir, IReadOnlyList<SweepTrace> traceList, IReadOnlyList<string> engineSpecs,
        IReadOnlyList<(string Name, string Arg, string JsonSha)> profileList, SweepSettings settings, string command)
    {
        string fullOut = Path.GetFullPath(outDir);
        if (traceList.Count == 0 || engineSpecs.Count == 0 || profileList.Count == 0)
        {
            throw new SweepUsageException("the grid is empty: give at least one trace (argument, --trace or the spec file's 'traces'), engine and profile.");
        }

        string version = RunCommand.Version;
        var cells = new List<SweepCell>();
        foreach (var t in traceList)
        {
            string traceSha = FileSha256(t.Path);
            foreach (string engine in engineSpecs)
            {
                foreach (var (name, arg, profileSha) in profileList)
                {
                    string inputs = string.Join('\n', engine, profileSha, traceSha,
                        settings.Window.ToString(CultureInfo.InvariantCulture), settings.Verify, settings.Strict, version);
                    if (settings.HasRowRange)
                    {
                        inputs += "\n" + settings.RowRange; // another range counts other rows: the cell is another cell
                    }

                    cells.Add(new SweepCell(cells.Count, engine, name, arg, t.Name, t.Path, traceSha, t.Recipe,
                        HivePath.CellFolder(engine, name, t.Name), Hex(SHA256.HashData(Encoding.UTF8.GetBytes(inputs)))));
                }
            }
        }

        return new SweepPlan { OutDir = fullOut, Settings = settings, Version = version, Commit = RunCommand.Commit, Command = command, Cells = cells };
    }

    /// <summary>The SHA-256 of a file's bytes, as the reports' <c>trace_sha256</c>.</summary>
    public static string FileSha256(string path)
    {
        using var f = File.OpenRead(path);
        return Hex(SHA256.HashData(f));
    }

    public static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);

    public async Task SaveAsync(CancellationToken ct)
    {
        var doc = new GridDocument(OutDir, Settings, Version, Commit, Command, [.. Cells], [.. Tasks]);
        await AtomicFile.WriteAsync(GridPath, JsonSerializer.Serialize(doc, Json), ct).ConfigureAwait(false);
    }

    public static SweepPlan Load(string gridPath)
    {
        GridDocument doc;
        try
        {
            doc = JsonSerializer.Deserialize<GridDocument>(File.ReadAllText(gridPath), Json) ?? throw new InvalidDataException($"{gridPath}: empty grid.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{gridPath}: line {(e.LineNumber ?? 0) + 1}: not a sweep grid ({e.Message.Split(" Path:")[0]})", e);
        }

        return new SweepPlan { OutDir = doc.OutDir, Settings = doc.Settings, Version = doc.Version, Commit = doc.Commit, Command = doc.Command, Cells = doc.Cells, Tasks = doc.Tasks };
    }

    private sealed record GridDocument(string OutDir, SweepSettings Settings, string Version, string Commit, string Command, List<SweepCell> Cells, List<int[]> Tasks);
}

/// <summary>Text files written to a temporary name in the same folder, then renamed: a reader never sees half a file.</summary>
internal static class AtomicFile
{
    public static async Task WriteAsync(string path, string text, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllTextAsync(tmp, text, ct).ConfigureAwait(false);
        File.Move(tmp, path, overwrite: true);
    }
}
