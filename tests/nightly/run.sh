#!/usr/bin/env bash
# Nightly regression job: generate the standard workloads, replay every engine, compare with the committed
# baseline reports (counts and cycles must not grow: they are deterministic), regenerate the fidelity table and
# compare it with the committed one (an effect must not leave the band it was in), then run the BenchmarkDotNet
# suite and compare throughput with the stored benchmark baseline. Exit status 1 on any regression.
#
#   tests/nightly/run.sh              # compare against reports/baseline/
#   tests/nightly/run.sh --refresh    # rewrite reports/baseline/ from this run (then review and commit it)
#   NIGHTLY_SKIP_BENCH=1 ...          # reports only
#
# Environment: NIGHTLY_OUT (default reports/nightly), NIGHTLY_EVENTS (200000), NIGHTLY_MAX_SLOWDOWN (percent drop
# of events_per_second tolerated in the report comparison, default 50: it is wall-clock on whatever machine runs
# this), NIGHTLY_BENCH_EVENTS (10000000), NIGHTLY_BENCH_THRESHOLD (percent, default 10), NIGHTLY_FIDELITY_EVENTS
# (2000000, replay fidelity's default).
set -euo pipefail
cd "$(dirname "$0")/../.."

refresh=0
[ "${1:-}" = "--refresh" ] && refresh=1
out=${NIGHTLY_OUT:-reports/nightly}
base=reports/baseline
events=${NIGHTLY_EVENTS:-200000}
workloads=(ctxswitch demand forkwait kernel-build webserver database)

dotnet build src/Replay -c Release -nologo -v quiet
replay() { dotnet src/Replay/bin/Release/net10.0/replay.dll "$@"; }

rm -rf "$out"
mkdir -p "$out/traces"
status=0
for w in "${workloads[@]}"; do
  replay gen "$w" -o "$out/traces/$w.pq" --events "$events" --seed 1
  replay "$out/traces/$w.pq" --engine all --out "$out/$w"
  if [ "$refresh" = 1 ]; then
    rm -rf "${base:?}/$w" && mkdir -p "$base/$w" && cp "$out/$w"/*.parquet "$base/$w/"
  elif ! replay compare "$base/$w" "$out/$w" --max-slowdown "${NIGHTLY_MAX_SLOWDOWN:-50}" --strict --out "$out/$w"; then
    echo "nightly: $w regressed against $base/$w (see $out/$w/compare.parquet)" >&2
    status=1
  fi
done

fidelity=(fidelity --events "${NIGHTLY_FIDELITY_EVENTS:-2000000}" --out "$out/fidelity" --work "$out/fidelity-traces")
if [ "$refresh" = 1 ]; then
  replay "${fidelity[@]}" || true # the table records which effects are in their band; it is the baseline either way
  rm -rf "${base:?}/fidelity" && mkdir -p "$base/fidelity" && cp "$out/fidelity"/fidelity.{parquet,md} "$base/fidelity/"
elif ! replay "${fidelity[@]}" --baseline "$base/fidelity"; then
  echo "nightly: an effect of the fidelity table left its band (see $out/fidelity/fidelity.md against $base/fidelity/)" >&2
  status=1
fi

if [ -z "${NIGHTLY_SKIP_BENCH:-}" ]; then
  rm -rf BenchmarkDotNet.Artifacts
  (cd tests/Replay.Benchmarks && REPLAY_BENCH_EVENTS=${NIGHTLY_BENCH_EVENTS:-10000000} REPLAY_BENCH_EXTENDED=${NIGHTLY_BENCH_EXTENDED:-0} \
    dotnet run -c Release -- --filter '*' --artifacts "../../$out/benchmarks")
  reports=("$out"/benchmarks/results/*-report-full.json) # one per benchmark class
  if [ "$refresh" = 1 ]; then
    python3 tests/nightly/bench_compare.py condense "${reports[@]}" > "$base/benchmarks.json"
  elif ! python3 tests/nightly/bench_compare.py compare "$base/benchmarks.json" "${reports[@]}" "${NIGHTLY_BENCH_THRESHOLD:-10}"; then
    status=1
  fi
fi

[ "$refresh" = 1 ] && echo "nightly: baseline refreshed in $base; review 'git diff --stat $base' and commit it."
exit $status
