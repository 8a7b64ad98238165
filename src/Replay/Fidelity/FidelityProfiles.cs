using System.Globalization;
using System.Text.Json.Nodes;
using Replay.Analysis.Costs;

namespace Replay.Fidelity;

/// <summary>
/// The profiles the effects run under: the built-ins, and one measured machine whose published transitions differ
/// from its generation's built-in. Adams &amp; Agesen ran forkwait on a pre-production Core 2 and published its VM
/// entry (937 cycles) and page-fault VM exit (1186) but not its clock; <c>core2</c> prices a production Core 2
/// (Merom's 1579-cycle round trip, Agesen et al. 2012). <see cref="Core2Aa2006"/> is <c>core2</c> with that part's
/// own transitions, as <c>prescott</c> uses the same paper's P4 672 figures: everything else (handlers, caches,
/// TLBs, CPI) is the Core 2 core's and unchanged.
/// </summary>
internal static class FidelityProfiles
{
    public const string Core2Aa2006 = "core2-aa2006";

    /// <summary>Adams &amp; Agesen, ASPLOS 2006 (REFERENCES §5): the pre-production Core 2's VM entry and page-fault VM exit.</summary>
    public const double Core2Entry = 937, Core2PfExit = 1186;

    /// <summary>Prescott's round trip in Agesen et al. 2012's Table 1, the divisor every profile scales its PV transitions by.</summary>
    private const double PrescottRoundTrip = 3963;

    private static readonly Lazy<CostProfile> Core2Aa = new(BuildCore2Aa2006);

    /// <summary>A built-in profile, or <see cref="Core2Aa2006"/>.</summary>
    public static CostProfile Resolve(string name) => name == Core2Aa2006 ? Core2Aa.Value : ProfileCatalog.Resolve(name);

    private static CostProfile BuildCore2Aa2006()
    {
        var doc = JsonNode.Parse(ProfileCatalog.Resolve("core2").Json)!.AsObject();
        double vmexit = Core2Entry + Core2PfExit;
        double Scaled(double p4) => Math.Round(p4 * vmexit / PrescottRoundTrip);
        var transitions = doc["transitions"]!.AsObject();
        transitions["vmexit"] = vmexit;
        transitions["pv_trap"] = Scaled(484);
        transitions["hypercall"] = Scaled(342);
        doc["name"] = Core2Aa2006;
        doc["description"] = "Adams & Agesen's pre-production Core 2 (ASPLOS 2006): core2 with that part's own measured VM entry and page-fault exit";
        var sources = doc["sources"]!.AsObject();
        sources["transitions.vmexit"] = string.Create(CultureInfo.InvariantCulture,
            $"Adams & Agesen, ASPLOS 2006, REFERENCES §5: the pre-production Core 2's VM entry {Core2Entry} + page-fault VM exit {Core2PfExit} = {vmexit} [pub]");
        sources["transitions.pv_trap"] = string.Create(CultureInfo.InvariantCulture,
            $"[est] 484 × {vmexit}/{PrescottRoundTrip} = {Scaled(484)}: as core2's, scaled by this part's round trip");
        sources["transitions.hypercall"] = string.Create(CultureInfo.InvariantCulture,
            $"[est] 342 × {vmexit}/{PrescottRoundTrip} = {Scaled(342)}: as core2's, scaled by this part's round trip");
        return ProfileCatalog.Parse(doc.ToJsonString(), $"fidelity profile '{Core2Aa2006}'");
    }
}
