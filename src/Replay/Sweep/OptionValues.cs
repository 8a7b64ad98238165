using System.Globalization;

namespace Replay.Sweep;

/// <summary>
/// The value syntax of a sweep's engine options, chosen so it cannot be read as the engine spec's own commas:
/// <c>a|b|c</c> is a list, <c>lo..hi</c> counts up by one, <c>lo..hi:+s</c> by <c>s</c> (arithmetic) and
/// <c>lo..hi:xf</c> multiplies by <c>f</c> (geometric); list items may be ranges (<c>0|8..64:x2</c>). A range stops
/// at the last value not above <c>hi</c>.
/// </summary>
internal static class OptionValues
{
    /// <summary>No option expands to more values than this (a typo such as <c>1..1000000</c> is refused, not run).</summary>
    public const int MaxValues = 10_000;

    /// <summary>The values of <paramref name="text"/> in order, repeats dropped; throws <see cref="UsageException"/>.</summary>
    public static IReadOnlyList<string> Expand(string text)
    {
        var values = new List<string>();
        foreach (string item in text.Split('|'))
        {
            if (item.Length == 0)
            {
                throw new Cli.UsageException($"'{text}' has an empty item between '|'.");
            }

            foreach (string v in item.Contains("..", StringComparison.Ordinal) ? Range(item) : [item])
            {
                if (!values.Contains(v))
                {
                    values.Add(v);
                }

                if (values.Count > MaxValues)
                {
                    throw new Cli.UsageException($"'{text}' expands to more than {MaxValues:N0} values.");
                }
            }
        }

        return values;
    }

    private static List<string> Range(string item)
    {
        int dots = item.IndexOf("..", StringComparison.Ordinal);
        string lo = item[..dots];
        string rest = item[(dots + 2)..];
        int colon = rest.IndexOf(':', StringComparison.Ordinal);
        string hi = colon < 0 ? rest : rest[..colon];
        string step = colon < 0 ? "+1" : rest[(colon + 1)..];
        long a = Number(lo, item, "start");
        long b = Number(hi, item, "end");
        if (b < a)
        {
            throw new Cli.UsageException($"range '{item}' ends below its start.");
        }

        bool geometric = step.StartsWith('x');
        if (!geometric && !step.StartsWith('+'))
        {
            throw new Cli.UsageException($"range '{item}' has step '{step}'; write ':+N' (add N) or ':xN' (multiply by N).");
        }

        long s = Number(step[1..], item, "step");
        if (geometric ? s < 2 || a <= 0 : s < 1)
        {
            throw new Cli.UsageException(geometric
                ? $"range '{item}' multiplies by {s} from {a}; a geometric range needs a factor of at least 2 and a positive start."
                : $"range '{item}' adds {s}; the step must be at least 1.");
        }

        var values = new List<string>();
        for (long v = a; v <= b; v = geometric ? v * s : v + s)
        {
            values.Add(v.ToString(CultureInfo.InvariantCulture));
            if (values.Count > MaxValues)
            {
                throw new Cli.UsageException($"range '{item}' has more than {MaxValues:N0} values.");
            }

            if (geometric ? v > b / s : v > b - s)
            {
                break; // the next value would pass hi (or overflow)
            }
        }

        return values;
    }

    private static long Number(string text, string item, string what) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new Cli.UsageException($"range '{item}' has {what} '{text}', which is not a whole number.");
}
