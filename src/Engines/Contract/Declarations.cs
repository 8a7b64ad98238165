namespace Replay.Engines.Contract;

/// <summary>A typed handle to one exit kind an engine or part declared: its index in the declaring <see cref="ExitKindList"/>.</summary>
public readonly record struct ExitHandle(int Index)
{
    /// <summary>The handle's index in stats whose kinds start with the declaring list at <paramref name="offset"/>.</summary>
    public int At(int offset) => offset + Index;
}

/// <summary>A typed handle to one counter an engine or part declared: its index in the declaring <see cref="CounterList"/>.</summary>
public readonly record struct CounterHandle(int Index)
{
    /// <summary>The handle's index in stats whose counters start with the declaring list at <paramref name="offset"/>.</summary>
    public int At(int offset) => offset + Index;
}

/// <summary>
/// The exit kinds of an engine or a part, declared once in stats order: each <see cref="Add"/> returns the typed
/// handle the code counts with, and a composed engine <see cref="Include"/>s its parts' lists. Reading
/// <see cref="All"/> seals the list, so a kind declared after the list was first read (a static field initialised in
/// the wrong order) fails loudly at type initialisation instead of leaving a descriptor short of a kind.
/// </summary>
public sealed class ExitKindList
{
    private readonly List<ExitKind> _kinds = [];
    private ExitKind[]? _sealed;

    /// <summary>Declares the next exit kind.</summary>
    public ExitHandle Add(ExitReason reason, string handler)
    {
        Open();
        _kinds.Add(new ExitKind(reason, handler));
        return new ExitHandle(_kinds.Count - 1);
    }

    /// <summary>Appends every kind of <paramref name="part"/> (sealing it); returns the index its kinds start at here.</summary>
    public int Include(ExitKindList part)
    {
        Open();
        int offset = _kinds.Count;
        _kinds.AddRange(part.All);
        return offset;
    }

    /// <summary>Every kind, in stats order; the list cannot grow once read.</summary>
    public IReadOnlyList<ExitKind> All => _sealed ??= [.. _kinds];

    private void Open()
    {
        if (_sealed is not null)
        {
            throw new InvalidOperationException("An exit kind was declared after the list was read: declare every kind before the descriptor that reads them.");
        }
    }
}

/// <summary>
/// The counters of an engine or a part, declared once in stats order (see <see cref="ExitKindList"/>: the same
/// handles, inclusion of parts and sealing on first read).
/// </summary>
public sealed class CounterList
{
    private readonly List<string> _names = [];
    private string[]? _sealed;

    /// <summary>Declares the next counter.</summary>
    public CounterHandle Add(string name)
    {
        Open();
        _names.Add(name);
        return new CounterHandle(_names.Count - 1);
    }

    /// <summary>Appends <paramref name="names"/> (a part's counters, possibly renamed); returns the index they start at here.</summary>
    public int Include(IEnumerable<string> names)
    {
        Open();
        int offset = _names.Count;
        _names.AddRange(names);
        return offset;
    }

    /// <summary>Every counter name, in stats order; the list cannot grow once read.</summary>
    public IReadOnlyList<string> All => _sealed ??= [.. _names];

    private void Open()
    {
        if (_sealed is not null)
        {
            throw new InvalidOperationException("A counter was declared after the list was read: declare every counter before reading the list.");
        }
    }
}

/// <summary>A typed handle to one declared engine option; <c>Of</c> reads its validated value.</summary>
public abstract class OptionHandle(EngineOption option)
{
    public EngineOption Option { get; } = option;

    public string Name => Option.Name;
}

/// <summary>A true/false option.</summary>
public sealed class BoolOption(EngineOption option) : OptionHandle(option)
{
    public bool Of(EngineOptions o) => o.GetBool(Name);
}

/// <summary>A whole-number option (possibly <see cref="EngineOption.Auto"/>: see <see cref="OrAuto"/>).</summary>
public sealed class IntOption(EngineOption option) : OptionHandle(option)
{
    public int Of(EngineOptions o) => o.GetInt(Name);

    /// <summary>The value, or <paramref name="auto"/> when the option is left at <see cref="EngineOption.Auto"/>.</summary>
    public long OrAuto(EngineOptions o, long auto) =>
        o.Get(Name) == EngineOption.Auto ? auto : long.Parse(o.Get(Name), System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>An option taking one of a fixed set of names.</summary>
public sealed class ChoiceOption(EngineOption option) : OptionHandle(option)
{
    public string Of(EngineOptions o) => o.Get(Name);
}

/// <summary>
/// The options of an engine, declared once in the order <c>replay engines</c> lists them: each declaration returns
/// the typed handle the engine reads its value with. Sealed on first read, as <see cref="ExitKindList"/>.
/// </summary>
public sealed class OptionList
{
    private readonly List<EngineOption> _options = [];
    private EngineOption[]? _sealed;

    public BoolOption Bool(string name, bool defaultValue, string description) =>
        new(Add(new EngineOption(name, OptionKind.Bool, defaultValue ? "true" : "false", description)));

    public IntOption Int(string name, string defaultValue, string description, long min = 0, long max = int.MaxValue) =>
        new(Add(new EngineOption(name, OptionKind.Int, defaultValue, description, Min: min, Max: max)));

    public ChoiceOption Choice(string name, string defaultValue, string description, IReadOnlyList<string> choices) =>
        new(Add(new EngineOption(name, OptionKind.Choice, defaultValue, description, choices)));

    /// <summary>Every option, in declaration order; the list cannot grow once read.</summary>
    public IReadOnlyList<EngineOption> All => _sealed ??= [.. _options];

    private EngineOption Add(EngineOption option)
    {
        if (_sealed is not null)
        {
            throw new InvalidOperationException($"Option '{option.Name}' was declared after the option list was read.");
        }

        _options.Add(option);
        return option;
    }
}
