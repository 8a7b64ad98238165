#!/usr/bin/env python3
"""Condense BenchmarkDotNet's full JSON report, and compare a run with a stored baseline.

  bench_compare.py condense REPORT_FULL_JSON...                 -> baseline JSON on stdout
  bench_compare.py compare BASELINE_JSON REPORT_FULL_JSON... PCT -> exit 1 on a regression

BenchmarkDotNet writes one full report per benchmark class; every one given is merged. A benchmark is
named by its title plus its parameters (e.g. "engine alone (trace in memory) [Engine=ept]").

A benchmark regressed when the confidence intervals separate by more than PCT percent: the current run's
lower bound is above the baseline's upper bound times (1 + PCT/100). Standard library only.
"""
import json
import sys


def condense(paths):
    out = {}
    host = ""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        host = host or report.get("HostEnvironmentInfo", {}).get("ProcessorName", "")
        for b in report["Benchmarks"]:
            s = b.get("Statistics")
            if not s:
                continue  # a benchmark that failed to run has no statistics
            ci = s["ConfidenceInterval"]
            name = b.get("MethodTitle") or b["Method"]
            if b.get("Parameters"):
                name += f" [{b['Parameters']}]"
            out[name] = {
                "mean_ns": s["Mean"],
                "ci_lower_ns": ci["Lower"],
                "ci_upper_ns": ci["Upper"],
            }
    return {"host": host, "benchmarks": out}


def main(argv):
    if len(argv) >= 3 and argv[1] == "condense":
        json.dump(condense(argv[2:]), sys.stdout, indent=2, sort_keys=True)
        print()
        return 0
    if len(argv) >= 5 and argv[1] == "compare":
        with open(argv[2], encoding="utf-8") as f:
            baseline = json.load(f)["benchmarks"]
        current = condense(argv[3:-1])["benchmarks"]
        threshold = float(argv[-1])
        regressed = 0
        for name, cur in sorted(current.items()):
            old = baseline.get(name)
            if old is None:
                print(f"  new        {name}: mean {cur['mean_ns'] / 1e6:.1f} ms (no baseline)")
                continue
            limit = old["ci_upper_ns"] * (1 + threshold / 100)
            change = (cur["mean_ns"] - old["mean_ns"]) / old["mean_ns"] * 100
            verdict = "REGRESSED" if cur["ci_lower_ns"] > limit else "ok"
            regressed += verdict != "ok"
            print(f"  {verdict:<10} {name}: mean {old['mean_ns'] / 1e6:.1f} -> {cur['mean_ns'] / 1e6:.1f} ms ({change:+.1f}%),"
                  f" CI lower {cur['ci_lower_ns'] / 1e6:.1f} ms vs limit {limit / 1e6:.1f} ms")
        print(f"benchmarks: {regressed} regression(s) beyond {threshold:g}% of the baseline's confidence interval")
        return 1 if regressed else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
