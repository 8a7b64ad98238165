using System.Globalization;
using System.Text;

namespace Replay.Sweep;

/// <summary>
/// Hive-style partition folders, <c>key=value</c>, with the value escaped as Hive's <c>FileUtils.escapePathName</c>
/// does (and Spark's <c>ExternalCatalogUtils.escapePathName</c>): control characters and
/// <c>"#%'*/:=?\{[]^</c> and DEL become <c>%XX</c>. The comma and the space are escaped too: every reader
/// (DuckDB, Spark, pyarrow) decodes any <c>%XX</c>, and a path without them needs no quoting in a shell.
/// </summary>
internal static class HivePath
{
    private const string Escaped = "\"#%'*/:=?\\{[]^, ";

    public static string Escape(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (char c in value)
        {
            if (c < 0x20 || c == 0x7F || Escaped.Contains(c, StringComparison.Ordinal))
            {
                sb.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>The inverse of <see cref="Escape"/> (any <c>%XX</c> decoded, as the readers do).</summary>
    public static string Unescape(string path)
    {
        var sb = new StringBuilder(path.Length);
        for (int i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length
                && int.TryParse(path.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
            {
                sb.Append((char)code);
                i += 2;
            }
            else
            {
                sb.Append(path[i]);
            }
        }

        return sb.ToString();
    }

    /// <summary>The cell folder, relative to the sweep's output folder: <c>engine=…/profile=…/trace=…</c>.</summary>
    public static string CellFolder(string engine, string profile, string trace) =>
        Path.Combine($"engine={Escape(engine)}", $"profile={Escape(profile)}", $"trace={Escape(trace)}");
}
