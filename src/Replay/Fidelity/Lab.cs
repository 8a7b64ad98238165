using System.Globalization;
using Replay.Analysis.Costs;
using Replay.Analysis.Reports;
using Replay.Cli;
using Replay.Driver;
using Replay.Engines.Contract;
using Replay.Engines.Registry;
using Replay.Kernel;
using Replay.Gen;

namespace Replay.Fidelity;

/// <summary>A generated trace the fidelity table replays: a named workload, its kernel options, its length and seed.</summary>
/// <param name="Phase">The phase the effect is measured over: the steady state a published measurement stands for (<c>all</c> for the whole trace).</param>
public sealed record Scenario(string Workload, long Events, int Vcpus = 1, bool Thp = false, bool EagerFork = false, int Seed = 1, string Phase = "all")
{
    public KernelOptions Options => new() { Vcpus = Vcpus, Thp = Thp, EagerFork = EagerFork };

    public string FileName => string.Create(CultureInfo.InvariantCulture,
        $"{Workload}-v{Vcpus}{(Thp ? "-thp" : "")}{(EagerFork ? "-eager" : "")}-n{Events}-s{Seed}.pq");

    /// <summary>The <c>replay gen</c> command line that makes this trace.</summary>
    public string Command => GenCommand.Source(Workloads.Find(Workload)!, Seed, Events, Options);
}

/// <summary>One replay an effect needs: a scenario under a profile through some engines (native always runs alongside).</summary>
public sealed record LabRun(Scenario Scenario, string Profile, IReadOnlyList<string> Engines);

/// <summary>The replays of a fidelity run, by scenario and profile; each engine's phase-<c>all</c> summary row and its counters.</summary>
public sealed class LabResults
{
    private readonly Dictionary<(Scenario, string), (IReadOnlyList<SummaryRow> Rows, TraceRunResult Result)> _runs = new();

    internal void Add(Scenario s, string profile, IReadOnlyList<SummaryRow> rows, TraceRunResult result) => _runs[(s with { Phase = ReportBuilder.AllPhase }, profile)] = (rows, result);

    /// <summary>The summary row (phase <c>all</c>) of <paramref name="engine"/> (canonical name) replaying <paramref name="s"/> under <paramref name="profile"/>.</summary>
    public SummaryRow Row(Scenario s, string profile, string engine) =>
        Get(s, profile).Rows.FirstOrDefault(r => r.Engine == engine && r.Phase == s.Phase)
        ?? throw new InvalidOperationException($"The fidelity run has no replay of {s.FileName} under {profile} by {engine} (phase {s.Phase}).");

    /// <summary>Total cycles (guest work + MMU) of an engine.</summary>
    public double Total(Scenario s, string profile, string engine) => Row(s, profile, engine).TotalCycles;

    /// <summary>An engine-specific counter of an engine's replay.</summary>
    public long Counter(Scenario s, string profile, string engine, string counter)
    {
        var run = Get(s, profile).Result.Engines.First(e => e.Engine == engine);
        int i = run.CounterNames.ToList().IndexOf(counter);
        return i >= 0 ? run.All.Counters[i] : throw new InvalidOperationException($"{engine} has no counter {counter}.");
    }

    private (IReadOnlyList<SummaryRow> Rows, TraceRunResult Result) Get(Scenario s, string profile) =>
        _runs.TryGetValue((s with { Phase = ReportBuilder.AllPhase }, profile), out var r) ? r : throw new InvalidOperationException($"The fidelity run did not replay {s.FileName} under {profile}.");
}

/// <summary>
/// Generates the scenarios the effects need (once each, into a work folder, reused when already there) and replays
/// each (scenario, profile) once through the union of the engines its effects ask for.
/// </summary>
public static class Lab
{
    public static async Task<LabResults> RunAsync(IEnumerable<Effect> effects, string workDir, Action<string>? log = null, CancellationToken ct = default)
    {
        Directory.CreateDirectory(workDir);
        var results = new LabResults();
        var groups = effects.SelectMany(e => e.Needs)
            .GroupBy(n => (Scenario: n.Scenario with { Phase = ReportBuilder.AllPhase }, n.Profile))
            .Select(g => (g.Key.Scenario, g.Key.Profile, Engines: g.SelectMany(n => n.Engines).Distinct(StringComparer.Ordinal).ToList()));
        foreach (var (scenario, profileName, engines) in groups)
        {
            string trace = Path.Combine(workDir, scenario.FileName);
            if (!File.Exists(trace))
            {
                log?.Invoke($"generating {scenario.Command}");
                string tmp = trace + ".tmp.pq";
                await GenCommand.GenerateAsync(Workloads.Find(scenario.Workload)!, tmp, scenario.Seed, scenario.Events, scenario.Options, ct).ConfigureAwait(false);
                File.Move(tmp, trace, overwrite: true);
            }

            var profile = FidelityProfiles.Resolve(profileName);
            var specs = engines.Select(EngineRegistry.Parse).ToList();
            log?.Invoke($"replaying {scenario.FileName} under {profileName}: {string.Join(", ", specs.Select(s => s.CanonicalName))}");
            var outcome = await ReplayDriver.RunAsync(new ReplayRequest(trace, specs, profile.Tlb), null, ct).ConfigureAwait(false);
            var tables = ReportBuilder.Build(profile, [outcome.Result]);
            results.Add(scenario, profileName, tables.Summary, outcome.Result);
        }

        return results;
    }
}
