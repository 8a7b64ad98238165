using System.Globalization;

namespace Replay.Engines.Contract;

/// <summary>The value type of an engine option.</summary>
public enum OptionKind
{
    Bool,
    Int,
    Choice,
}

/// <summary>One option an engine accepts, with its default and allowed values (listed by <c>replay engines</c>).</summary>
public sealed record EngineOption(string Name, OptionKind Kind, string Default, string Description,
    IReadOnlyList<string>? Choices = null, long Min = 0, long Max = int.MaxValue)
{
    /// <summary>The default of a whole-number option whose value depends on another option (e.g. a personality).</summary>
    public const string Auto = "auto";

    /// <summary>Validates and normalises a user-supplied value; throws <see cref="EngineSpecException"/>.</summary>
    public string Normalize(string engine, string value)
    {
        switch (Kind)
        {
            case OptionKind.Bool:
                return value.ToLowerInvariant() switch
                {
                    "true" or "on" or "1" or "yes" => "true",
                    "false" or "off" or "0" or "no" => "false",
                    _ => throw new EngineSpecException($"Option '{Name}' of engine '{engine}' takes true or false, not '{value}'."),
                };
            case OptionKind.Int:
                if (Default == Auto && string.Equals(value, Auto, StringComparison.OrdinalIgnoreCase))
                {
                    return Auto;
                }

                if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) || n < Min || n > Max)
                {
                    throw new EngineSpecException($"Option '{Name}' of engine '{engine}' takes a whole number from {Min} to {Max}, not '{value}'.");
                }

                return n.ToString(CultureInfo.InvariantCulture);
            default:
                var match = Choices!.FirstOrDefault(c => string.Equals(c, value, StringComparison.OrdinalIgnoreCase));
                return match ?? throw new EngineSpecException(
                    $"Option '{Name}' of engine '{engine}' takes one of {string.Join(", ", Choices!)}, not '{value}'.");
        }
    }
}

/// <summary>Validated option values of one configured engine, defaults filled in.</summary>
public sealed class EngineOptions
{
    private readonly Dictionary<string, string> _values;

    internal EngineOptions(Dictionary<string, string> values) => _values = values;

    public IReadOnlyDictionary<string, string> Values => _values;

    public bool GetBool(string name) => _values[name] == "true";

    public int GetInt(string name) => int.Parse(_values[name], CultureInfo.InvariantCulture);

    public string Get(string name) => _values[name];
}

/// <summary>A bad <c>--engine</c> value: unknown engine, unknown option or bad option value. The message is one sentence.</summary>
public sealed class EngineSpecException(string message) : Exception(message);

/// <summary>
/// An engine was asked to replay a guest the system it models never runs (e.g. Xen's shadow code and a 5-level
/// guest). The message is one sentence; the command line treats it as a usage error.
/// </summary>
public sealed class EngineCannotReplayException(string message) : Exception(message);
