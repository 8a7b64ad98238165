#!/usr/bin/env bash
# Two builds of `replay` compared on one trace by what the engines cost: RUNS alternating runs of each (A, B, A, B, ...)
# with `--json`, printing per build the median wall time and, per engine, the median of its `replay_seconds` (the
# engine thread's CPU time) per event, with every run's value. Thread CPU time is less disturbed by other processes
# than wall time, not immune: on a shared machine a spread of 10% between runs is common, so a change smaller than
# that needs more runs (or a quiet machine) before it means anything.
#
#   tools/perf/ab.sh TRACE DLL_A DLL_B [ENGINE...]     # ENGINE: --engine values (default shadow-cached)
#
# DLL_A and DLL_B are replay.dll of two builds, e.g. a copy of src/Replay/bin/Release/net10.0 made before a change
# and the build after it. Environment: RUNS (5), PERF_DIR (${TMPDIR:-/tmp}/replay-perf: the reports of each run,
# deleted). Needs python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
trace=${1:?usage: tools/perf/ab.sh TRACE DLL_A DLL_B [ENGINE...]}
dll_a=${2:?usage: tools/perf/ab.sh TRACE DLL_A DLL_B [ENGINE...]}
dll_b=${3:?usage: tools/perf/ab.sh TRACE DLL_A DLL_B [ENGINE...]}
shift 3
engines=("$@")
[ ${#engines[@]} -eq 0 ] && engines=(shadow-cached)
runs=${RUNS:-5}
for f in "$trace" "$dll_a" "$dll_b"; do
  [ -f "$f" ] || { echo "ab.sh: no file $f" >&2; exit 1; }
done
engine_args=()
for e in "${engines[@]}"; do engine_args+=(--engine "$e"); done
work="${PERF_DIR:-${TMPDIR:-/tmp}/replay-perf}/ab.$$"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
for ((i = 1; i <= runs; i++)); do
  for build in A B; do
    dll=$dll_a
    [ "$build" = B ] && dll=$dll_b
    start=$(date +%s.%N)
    dotnet "$dll" "$trace" "${engine_args[@]}" --out "$work/reports" --json >"$work/$build.$i.json"
    end=$(date +%s.%N)
    python3 -c "print($end - $start)" >"$work/$build.$i.wall"
    rm -rf "$work/reports"
  done
done
echo "$(basename "$trace"): $runs alternating runs each; A = $dll_a, B = $dll_b"
python3 - "$work" "$runs" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
for build in "AB":
    walls, per_event = [], {}
    for i in range(1, runs + 1):
        walls.append(float(open(f"{work}/{build}.{i}.wall").read()))
        for row in json.load(open(f"{work}/{build}.{i}.json")):
            if row["phase"] == "all":
                per_event.setdefault(row["engine"], []).append(row["replay_seconds"] / row["events"] * 1e9)
    engines = "  ".join(f"{e} {statistics.median(v):.0f} ns/event (runs: {' '.join(f'{x:.0f}' for x in v)})" for e, v in per_event.items())
    print(f"  {build}: wall {statistics.median(walls):.2f} s  {engines}")
PY
