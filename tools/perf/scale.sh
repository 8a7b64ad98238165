#!/usr/bin/env bash
# How replay scales with trace length: generates (or reuses) a 10M- and a 100M-event trace of one workload, runs
# `replay TRACE --engine all --out DIR` and `replay TRACE --engine shadow-cached --out DIR` on each under
# /usr/bin/time -v, and prints wall time, peak RSS and the extrapolation to 1B events (time linear in events;
# memory should be flat: replay holds three row-group batches, whatever the trace length, so the 100M peak
# should equal the 10M one, and so would 1B's).
#
#   tools/perf/scale.sh                     # ctxswitch, 10M and 100M events
#   SIZES="10000000" tools/perf/scale.sh    # only the 10M trace (a quick check of the script)
#
# Environment: WORKLOAD (ctxswitch), SIZES (event counts, "10000000 100000000"), ENGINES ("all shadow-cached"),
# PERF_DIR (${TMPDIR:-/tmp}/replay-perf: traces are kept there and reused; a 100M trace is about 240 MB and takes a
# minute or two to generate), NO_BUILD=1 to skip `dotnet build src/Replay -c Release`.
# The 100M replays take minutes (--engine all several): run it on a quiet machine, once. Needs /usr/bin/time
# (Debian: apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/../.."

workload=${WORKLOAD:-ctxswitch}
read -r -a sizes <<< "${SIZES:-10000000 100000000}"
read -r -a engines <<< "${ENGINES:-all shadow-cached}"
perf=${PERF_DIR:-${TMPDIR:-/tmp}/replay-perf}
mkdir -p "$perf"

[ -n "${NO_BUILD:-}" ] || dotnet build src/Replay -c Release -nologo -v quiet >/dev/null
replay=(dotnet src/Replay/bin/Release/net10.0/replay.dll)

# field LOG NAME: the value of one line of /usr/bin/time -v's report.
field() { sed -n "s/^[[:space:]]*$2: //p" "$1" | tail -n 1; }
# seconds H:MM:SS.ss | M:SS.ss -> seconds
seconds() { awk -F: '{s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s}'; }

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for n in "${sizes[@]}"; do
  trace="$perf/$workload-$n.pq"
  if [ ! -f "$trace" ]; then
    echo "scale.sh: generating $trace" >&2
    /usr/bin/time -f "scale.sh: generated in %e s, peak %M KB" "${replay[@]}" gen "$workload" --events "$n" --seed 1 -o "$trace" >/dev/null
  fi
  for e in "${engines[@]}"; do
    out="$perf/scale-reports.$$"
    log="$perf/scale-$workload-$n-$e.time"
    echo "scale.sh: replay $trace --engine $e" >&2
    /usr/bin/time -v -o "$log" "${replay[@]}" "$trace" --engine "$e" --out "$out" > "$perf/scale-$workload-$n-$e.out"
    rm -rf "$out"
    wall=$(field "$log" "Elapsed (wall clock) time (h:mm:ss or m:ss)" | seconds)
    rss=$(field "$log" "Maximum resident set size (kbytes)")
    echo "$n $e $wall $rss" >> "$results"
  done
done

echo "workload $workload; wall time and peak RSS of the whole replay command (process start included)"
printf '  %-13s %12s %9s %10s %8s   %s\n' engine events wall_s Mevents/s peak_MB "1B events, linear from this size"
awk '
  { n[NR] = $1; e[NR] = $2; w[NR] = $3; r[NR] = $4; if (!($2 in first)) { first[$2] = NR; order[++k] = $2 } last[$2] = NR }
  END {
    for (i = 1; i <= NR; i++) {
      est = w[i] * 1e9 / n[i]
      printf "  %-13s %12d %9.1f %10.2f %8.0f   %7.0f s (%.1f min)\n", e[i], n[i], w[i], n[i] / w[i] / 1e6, r[i] / 1024, est, est / 60
    }
    for (j = 1; j <= k; j++) {
      a = first[order[j]]; b = last[order[j]]
      if (a == b) continue
      # The marginal cost per event between the two sizes carries the fixed costs (process start, JIT) only once.
      per = (w[b] - w[a]) / (n[b] - n[a])
      est = w[b] + (1e9 - n[b]) * per
      printf "  %-13s %gM -> %gM events: time x%.2f (linear would be x%.0f), peak RSS x%.2f (flat: x1.00);", order[j], n[a] / 1e6, n[b] / 1e6, w[b] / w[a], n[b] / n[a], r[b] / r[a]
      printf " 1B events at the marginal %.2fM events/s: %.0f s (%.1f min), peak about %.0f MB\n", 1 / per / 1e6, est, est / 60, (r[a] > r[b] ? r[a] : r[b]) / 1024
    }
  }' "$results"
