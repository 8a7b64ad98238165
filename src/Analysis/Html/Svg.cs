using System.Globalization;
using System.Net;
using System.Text;

namespace Replay.Analysis.Html;

/// <summary>Small helpers for the HTML report: escaping, invariant number formatting, a palette and axis ticks.</summary>
internal static class Svg
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Colour-blind-friendly-ish qualitative palette (Tableau 10 then its light companions), distinguishable on
    /// white; more keys than colours cycle.
    /// </summary>
    private static readonly string[] Palette =
    [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
        "#1f4e79", "#a0522d", "#8c1c13", "#2a7f62", "#6b4c9a", "#c49c00", "#5f6b6d", "#d45087",
    ];

    public static string Color(int i) => Palette[i % Palette.Length];

    /// <summary>
    /// The i-th colour of a key set that must not repeat (exit reasons): the palette first, then hues spaced by the
    /// golden angle, so every index gets its own colour however many keys there are.
    /// </summary>
    public static string DistinctColor(int i) => i < Palette.Length
        ? Palette[i]
        : string.Create(Inv, $"hsl({(i - Palette.Length) * 137.508 % 360:0.#},{55 + (i % 3) * 12}%,{38 + (i % 4) * 8}%)");

    /// <summary>One colour per name, assigned in ordinal order of the sorted distinct names (stable for a given set).</summary>
    public static Dictionary<string, string> KeyedColors(IEnumerable<string> names)
    {
        var sorted = names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < sorted.Count; i++)
        {
            map[sorted[i]] = DistinctColor(i);
        }

        return map;
    }

    /// <summary>HTML/XML-escapes text (&lt; &gt; &amp; " ').</summary>
    public static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    /// <summary>A coordinate: invariant, at most 1 decimal.</summary>
    public static string F(double v) => v.ToString("0.#", Inv);

    /// <summary>A count with thousands separators (invariant).</summary>
    public static string N(long v) => v.ToString("N0", Inv);

    /// <summary>Cycles (double) rounded, with thousands separators.</summary>
    public static string N(double v) =>
        double.IsFinite(v) ? v.ToString("N0", Inv) : double.IsPositiveInfinity(v) ? "∞" : double.IsNegativeInfinity(v) ? "−∞" : "n/a";

    public static string Slowdown(double v) => double.IsFinite(v) ? v.ToString("0.000", Inv) + "×" : double.IsPositiveInfinity(v) ? "∞" : "n/a";

    /// <summary>Short axis label: 1.2k, 3.4M.</summary>
    public static string Short(double v)
    {
        double a = Math.Abs(v);
        return a >= 1e9 ? (v / 1e9).ToString("0.##", Inv) + "G"
            : a >= 1e6 ? (v / 1e6).ToString("0.##", Inv) + "M"
            : a >= 1e3 ? (v / 1e3).ToString("0.##", Inv) + "k"
            : v.ToString("0.##", Inv);
    }

    /// <summary>A "nice" upper bound and step for an axis from 0 to <paramref name="max"/> with about 5 ticks.</summary>
    public static (double Max, double Step) Ticks(double max, int target = 5)
    {
        if (!(max > 0) || !double.IsFinite(max))
        {
            return (1, 0.2);
        }

        double raw = max / target;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double norm = raw / mag;
        double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
        return (Math.Ceiling(max / step - 1e-9) * step, step);
    }

    /// <summary>Approximate rendered width of text at a font size (sans-serif), for fitting labels.</summary>
    public static double TextWidth(string s, double fontSize) => s.Length * fontSize * 0.58;

    public static void Text(StringBuilder sb, double x, double y, string text, string anchor = "start", string? cls = null, string? extra = null) =>
        sb.Append(CultureInfo.InvariantCulture,
            $"<text x=\"{F(x)}\" y=\"{F(y)}\" text-anchor=\"{anchor}\"{(cls is null ? "" : $" class=\"{cls}\"")}{(extra is null ? "" : " " + extra)}>{E(text)}</text>");

    /// <summary>Truncates a label to fit a width, with an ellipsis.</summary>
    public static string Fit(string s, double width, double fontSize)
    {
        int max = (int)(width / (fontSize * 0.58));
        return s.Length <= max ? s : max <= 1 ? "" : s[..(max - 1)] + "…";
    }
}

/// <summary>
/// A value axis from the chart's data: linear from 0 with "nice" ticks, or base-10 logarithmic when the positive
/// values span more than <see cref="LogSpan"/> (max/min &gt; 100), with ticks at the powers of ten. Values ≤ 0 sit at
/// the axis floor on a log axis.
/// </summary>
/// <param name="Lo">The axis floor (0 on a linear axis, a power of ten below the smallest positive value on a log one).</param>
internal sealed record ValueAxis(bool Log, double Lo, double Hi, IReadOnlyList<double> Ticks)
{
    /// <summary>max/min of the positive values above which the axis is logarithmic.</summary>
    public const double LogSpan = 100;

    public static ValueAxis For(IEnumerable<double> values, int target = 5)
    {
        var positive = values.Where(v => v > 0 && double.IsFinite(v)).ToList();
        double max = positive.Count == 0 ? 0 : positive.Max();
        double min = positive.Count == 0 ? 0 : positive.Min();
        if (positive.Count >= 2 && max / min > LogSpan)
        {
            // The floor is a power of ten strictly below the smallest value, so its bar or point stays visible.
            int loExp = (int)Math.Ceiling(Math.Log10(min)) - 1;
            int hiExp = Math.Max((int)Math.Ceiling(Math.Log10(max) - 1e-12), loExp + 1);
            var ticks = Enumerable.Range(loExp, hiExp - loExp + 1).Select(e => Math.Pow(10, e)).ToList();
            return new ValueAxis(true, ticks[0], ticks[^1], ticks);
        }

        var (nice, step) = Svg.Ticks(max, target);
        var linear = new List<double>();
        for (double v = 0; v <= nice + step / 2; v += step)
        {
            linear.Add(v);
        }

        return new ValueAxis(false, 0, nice, linear);
    }

    /// <summary>Where a value sits along the axis, 0 (floor) to 1 (top), clamped.</summary>
    public double Pos(double v)
    {
        if (Log)
        {
            return v <= Lo ? 0 : Math.Min(1, (Math.Log10(v) - Math.Log10(Lo)) / (Math.Log10(Hi) - Math.Log10(Lo)));
        }

        return Hi > 0 ? Math.Clamp(v / Hi, 0, 1) : 0;
    }

    /// <summary>The axis title, saying when the scale is logarithmic.</summary>
    public string Title(string quantity) => Log ? quantity + " (log scale)" : quantity;
}
