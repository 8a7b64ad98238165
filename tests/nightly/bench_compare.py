#!/usr/bin/env python3
"""Condense BenchmarkDotNet's full JSON report, and compare a run with a stored baseline.

  bench_compare.py condense REPORT_FULL_JSON...                 -> baseline JSON on stdout
  bench_compare.py compare BASELINE_JSON REPORT_FULL_JSON... PCT -> exit 1 on a regression
  bench_compare.py targets REPORT_FULL_JSON...                  -> issue 11's ratios (never fails)

BenchmarkDotNet writes one full report per benchmark class; every one given is merged. A benchmark is
named by its title plus its parameters, in BenchmarkDotNet's order (by name) and joined by ", " (e.g.
"'engine alone (trace in memory)' [Engine=ept, Trace=ctxswitch]", "'replay shadow-cached (end to end)'
[Trace=lackey]"). Two benchmarks with one name (the same title and parameters in two classes, or one
benchmark under two jobs) are an error: the key must name one benchmark, run after run.

A benchmark regressed when the confidence intervals separate by more than PCT percent: the current run's
lower bound is above the baseline's upper bound times (1 + PCT/100). A benchmark of the baseline that this
run lacks (a subset was run, or it was renamed) is listed as missing and does not fail the comparison.

compare also prints the targets: every benchmark of a class with the DuckDB floor ('duckdb scan
(threads=2)') as a fraction of the floor's rate on the same trace (floor mean / mean; end to end the target
is >= 0.5), and 'replay all (end to end)' against 'replay shadow-cached (end to end)' (target <= 1.5x).
Standard library only.
"""
import json
import sys


FLOOR = "'duckdb scan (threads=2)'"
END_TO_END = "'replay shadow-cached (end to end)'"
ALL_END_TO_END = "'replay all (end to end)'"


def key(b):
    """A benchmark's stable name: its title, then its parameters as "[A=x, B=y]"."""
    name = b.get("MethodTitle") or b["Method"]
    if b.get("Parameters"):
        name += " [" + ", ".join(b["Parameters"].split("&")) + "]"
    return name


def load(paths):
    """(key, Type, Parameters, benchmark) of every benchmark with statistics; exits 2 on a key used twice."""
    seen = {}
    rows = []
    host = ""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        host = host or report.get("HostEnvironmentInfo", {}).get("ProcessorName", "")
        for b in report["Benchmarks"]:
            name = key(b)
            where = f"{path}: {b.get('DisplayInfo') or b.get('FullName')}"
            if name in seen:
                sys.exit(f"bench_compare: two benchmarks named {name!r}:\n  {seen[name]}\n  {where}\n"
                         "give one a distinct [Benchmark(Description = ...)] (or run one job only)")
            seen[name] = where
            if b.get("Statistics"):  # a benchmark that failed to run has no statistics
                rows.append((name, b.get("Type", ""), b.get("Parameters", ""), b))
    return host, rows


def condense(paths):
    host, rows = load(paths)
    out = {}
    for name, _, _, b in rows:
        s = b["Statistics"]
        ci = s["ConfidenceInterval"]
        out[name] = {
            "mean_ns": s["Mean"],
            "ci_lower_ns": ci["Lower"],
            "ci_upper_ns": ci["Upper"],
        }
    return {"host": host, "benchmarks": out}


def targets(paths):
    """Lines of issue 11's ratios from a run: rate vs the DuckDB floor per trace, and all vs shadow-cached."""
    _, rows = load(paths)
    mean = {(t, p, b.get("MethodTitle") or b["Method"]): b["Statistics"]["Mean"] for _, t, p, b in rows}
    lines = []
    for (t, p, title), m in sorted(mean.items()):
        floor = mean.get((t, p, FLOOR))
        if floor and title != FLOOR:
            goal = "  (target >= 0.50)" if title == END_TO_END else ""
            lines.append(f"  vs DuckDB  {title} [{p.replace('&', ', ')}]: {floor / m:.2f}{goal}")
    for (t, p, title), m in sorted(mean.items()):
        one = mean.get((t, p, END_TO_END))
        if title == ALL_END_TO_END and one:
            lines.append(f"  all / one  {title} [{p.replace('&', ', ')}]: {m / one:.2f}x the time of {END_TO_END}  (target <= 1.50x)")
    return lines


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
        for name in sorted(set(baseline) - set(current)):
            print(f"  missing    {name}: in the baseline, not in this run (not compared)")
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
        lines = targets(argv[3:-1])
        if lines:
            print("issue 11 targets (this run):")
            print("\n".join(lines))
        print(f"benchmarks: {regressed} regression(s) beyond {threshold:g}% of the baseline's confidence interval")
        return 1 if regressed else 0
    if len(argv) >= 3 and argv[1] == "targets":
        print("\n".join(targets(argv[2:])) or "no benchmark with a DuckDB floor in these reports")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
