using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace Replay.Cli;

/// <summary>
/// Every numeric option of every command is made here, so a value that is not a number, or one outside what the
/// option takes, is the same usage error everywhere (exit 2, one sentence naming the option and the value) and never
/// reaches a validator that would throw converting it. System.CommandLine's own conversion failure surfaces as an
/// exception inside a validator's <c>GetValueOrDefault</c>; a custom parser reports it as a parse error instead.
/// </summary>
internal static class NumberOptions
{
    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>] with a default.</summary>
    public static Option<long> Long(string name, string description, long defaultValue, long min = 1, long max = long.MaxValue, string? alias = null, string? why = null)
    {
        var o = alias is null ? new Option<long>(name) : new Option<long>(name, alias);
        o.Description = description;
        o.DefaultValueFactory = _ => defaultValue;
        o.CustomParser = r => Parse(r, name, defaultValue, min, max, why);
        return o;
    }

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>], null when the option is not given.</summary>
    public static Option<long?> OptionalLong(string name, string description, long min = 1, long max = long.MaxValue)
    {
        var o = new Option<long?>(name) { Description = description };
        o.CustomParser = r => r.Tokens.Count == 0 ? null : Parse(r, name, 0L, min, max, null);
        return o;
    }

    /// <summary>A 32-bit whole number in [<paramref name="min"/>, <paramref name="max"/>] with a default.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        var o = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.CustomParser = r => Parse(r, name, defaultValue, min, max, null);
        return o;
    }

    /// <summary>A finite number of 0 or more (a percentage, seconds).</summary>
    public static Option<double> NonNegative(string name, string description, double defaultValue)
    {
        var o = new Option<double>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.CustomParser = r => Parse(r, name, defaultValue, 0.0, double.MaxValue, null);
        return o;
    }

    /// <summary>A finite number of 0 or more, null when the option is not given.</summary>
    public static Option<double?> OptionalNonNegative(string name, string description)
    {
        var o = new Option<double?>(name) { Description = description };
        o.CustomParser = r => r.Tokens.Count == 0 ? null : Parse(r, name, 0.0, 0.0, double.MaxValue, null);
        return o;
    }

    /// <summary>
    /// The value of option <paramref name="name"/>: its last token parsed with the invariant culture, or
    /// <paramref name="fallback"/> when there is none; an error on <paramref name="r"/> when it is not a number of
    /// <typeparamref name="T"/>'s kind or lies outside [<paramref name="min"/>, <paramref name="max"/>].
    /// </summary>
    internal static T Parse<T>(ArgumentResult r, string name, T fallback, T min, T max, string? why)
        where T : struct, INumber<T>, IMinMaxValue<T>
    {
        if (r.Tokens.Count == 0)
        {
            return fallback;
        }

        string text = r.Tokens[^1].Value;
        bool integer = typeof(T) != typeof(double);
        var style = integer ? NumberStyles.AllowLeadingSign : NumberStyles.Float;
        string range = Range(min, max);
        if (!T.TryParse(text, style, CultureInfo.InvariantCulture, out T value))
        {
            // A run of digits that does not parse is a whole number too large for the type, not a non-number.
            bool digits = text.TrimStart('-', '+').Length > 0 && text.TrimStart('-', '+').All(char.IsAsciiDigit);
            r.AddError(digits && integer
                ? $"{name} '{text}' is out of range: it takes {range}."
                : $"{name} '{text}' is not {(integer ? "a whole number" : "a number")}: it takes {range}.");
            return fallback;
        }

        if (!T.IsFinite(value) || value < min || value > max)
        {
            r.AddError($"{name} '{text}' is out of range: it takes {range}{(why is null ? "" : $" ({why})")}.");
            return fallback;
        }

        return value;
    }

    private static string Range<T>(T min, T max)
        where T : struct, INumber<T>, IMinMaxValue<T>
    {
        var c = CultureInfo.InvariantCulture;
        return max == T.MaxValue && min != T.MinValue ? string.Create(c, $"{min} or more") : string.Create(c, $"{min} to {max}");
    }
}
