#!/usr/bin/env bash
# Issue 11's paired measurement, whole processes with their start included: `replay --engine shadow-cached TRACE`
# against a DuckDB scan of the same file (tools/perf/duckscan: a fresh in-memory database, every trace column
# decoded and aggregated, exactly the scan of the benchmark suite's 'duckdb scan' floor). Each is run RUNS times,
# alternating, and the median wall time of each is reported with the ratio floor / replay (replay's rate as a
# fraction of DuckDB's; the target is 0.5 or more).
#
#   tools/perf/floor.sh [TRACE]        # default: a 10M-event ctxswitch trace, generated once into $PERF_DIR
#
# Environment: RUNS (3), THREADS (DuckDB threads, 2 = its default on a 2-core machine), ENGINE (shadow-cached),
# WORKLOAD and EVENTS for the default trace (ctxswitch, 10000000), PERF_DIR (${TMPDIR:-/tmp}/replay-perf: traces
# and reports; the reports of each run are deleted), NO_BUILD=1 to skip the two Release builds, REPLAY_DLL to time
# another build's replay.dll (e.g. a copy of main's bin/Release/net10.0, to compare builds on the same trace),
# R2R=1 to time the ReadyToRun publish that tools/install.sh installs (what a user's `replay` runs: published into
# $PERF_DIR/r2r unless NO_BUILD=1) instead of the plain Release build, whose every method is JIT-compiled at run time.
# Needs /usr/bin/time (Debian: apt-get install time). Run it on a quiet machine: the numbers are wall clock.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=${RUNS:-3}
threads=${THREADS:-2}
engine=${ENGINE:-shadow-cached}
perf=${PERF_DIR:-${TMPDIR:-/tmp}/replay-perf}
mkdir -p "$perf"

if [ -z "${NO_BUILD:-}" ]; then
  if [ -n "${R2R:-}" ]; then
    tools/perf/r2r.sh "$perf/r2r" >/dev/null
  else
    dotnet build src/Replay -c Release -nologo -v quiet >/dev/null
  fi
  dotnet build tools/perf/duckscan -c Release -nologo -v quiet >/dev/null
fi
default_dll=src/Replay/bin/Release/net10.0/replay.dll
[ -n "${R2R:-}" ] && default_dll=$perf/r2r/replay.dll
replay=(dotnet "${REPLAY_DLL:-$default_dll}")
duckscan=(dotnet tools/perf/duckscan/bin/Release/net10.0/duckscan.dll)

trace=${1:-}
if [ -z "$trace" ]; then
  trace="$perf/${WORKLOAD:-ctxswitch}-${EVENTS:-10000000}.pq"
  [ -f "$trace" ] || "${replay[@]}" gen "${WORKLOAD:-ctxswitch}" --events "${EVENTS:-10000000}" --seed 1 -o "$trace" >/dev/null
fi
[ -f "$trace" ] || { echo "floor.sh: no trace $trace" >&2; exit 1; }

# timed LABEL CMD...: runs CMD under /usr/bin/time, prints "seconds peak_kb", fails on a failed CMD.
timed() {
  local log
  log=$(mktemp)
  if ! /usr/bin/time -f '%e %M' -o "$log" "$@" >/dev/null; then
    echo "floor.sh: failed: $*" >&2
    rm -f "$log"
    return 1
  fi
  tail -n 1 "$log"
  rm -f "$log"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

out="$perf/floor-reports.$$"
replay_s=()
duck_s=()
replay_kb=0
duck_kb=0
# One untimed run of each first, so both start from a warm page cache and a built JIT cache alike.
"${duckscan[@]}" "$trace" --threads "$threads" >/dev/null
"${replay[@]}" "$trace" --engine "$engine" --out "$out" >/dev/null
rm -rf "$out"
for ((i = 1; i <= runs; i++)); do
  read -r s kb < <(timed "${duckscan[@]}" "$trace" --threads "$threads")
  duck_s+=("$s"); [ "$kb" -gt "$duck_kb" ] && duck_kb=$kb
  read -r s kb < <(timed "${replay[@]}" "$trace" --engine "$engine" --out "$out")
  replay_s+=("$s"); [ "$kb" -gt "$replay_kb" ] && replay_kb=$kb
  rm -rf "$out"
done

rows=$("${duckscan[@]}" "$trace" --threads "$threads" | sed -E 's/^[^:]*: ([0-9,]+) rows.*/\1/; s/,//g')
d=$(printf '%s\n' "${duck_s[@]}" | median)
r=$(printf '%s\n' "${replay_s[@]}" | median)
echo "trace: $trace ($rows rows), $runs runs each, median wall time, process start included"
awk -v rows="$rows" -v d="$d" -v r="$r" -v dk="$duck_kb" -v rk="$replay_kb" -v th="$threads" -v e="$engine" \
  -v dall="${duck_s[*]}" -v rall="${replay_s[*]}" 'BEGIN {
  printf "  %-34s %8.2f s  %7.1fM rows/s  peak %5.0f MB   runs: %s\n", "duckdb scan (threads=" th ")", d, rows / d / 1e6, dk / 1024, dall
  printf "  %-34s %8.2f s  %7.1fM rows/s  peak %5.0f MB   runs: %s\n", "replay --engine " e, r, rows / r / 1e6, rk / 1024, rall
  printf "  vs DuckDB (duckdb time / replay time): %.2f   (target >= 0.5)\n", d / r
}'
