#!/usr/bin/env bash
# Issue 11's profile per stage: samples the whole `replay` process with perf (cpu-clock, every thread, the JIT's code
# named through DOTNET_PerfMapEnabled) and prints CPU ns per trace event for each stage (decode, checks, replay loop,
# TLB, walk, cache model, each engine, JIT, runtime, kernel). A callee the JIT inlined counts in its caller's stage.
#
#   tools/perf/stages.sh TRACE [ENGINE]     # ENGINE: shadow-cached (default), or any --engine value
#
# Environment: FREQ (sampling Hz, 299), REPLAY_DLL (default src/Replay/bin/Release/net10.0/replay.dll, built by
# `dotnet build src/Replay -c Release`; R2R=1: the ReadyToRun publish of tools/install.sh, made by tools/perf/r2r.sh
# into $PERF_DIR/r2r if it is not there), PERF_DIR (${TMPDIR:-/tmp}/replay-perf). Needs perf and python3
# (Debian: linux-perf).
set -euo pipefail
cd "$(dirname "$0")/../.."
trace=${1:?usage: tools/perf/stages.sh TRACE [ENGINE]}
engine=${2:-shadow-cached}
freq=${FREQ:-299}
perf_dir=${PERF_DIR:-${TMPDIR:-/tmp}/replay-perf}
mkdir -p "$perf_dir"
dll=${REPLAY_DLL:-src/Replay/bin/Release/net10.0/replay.dll}
if [ -z "${REPLAY_DLL:-}" ] && [ -n "${R2R:-}" ]; then
  [ -f "$perf_dir/r2r/replay.dll" ] || tools/perf/r2r.sh "$perf_dir/r2r" >/dev/null
  dll=$perf_dir/r2r/replay.dll
fi
data="$perf_dir/stages.$$.perf.data"
out="$perf_dir/stages-reports.$$"
events=$(dotnet "$dll" inspect "$trace" | sed -nE '1s/^.*: ([0-9,]+) rows.*/\1/p' | tr -d ,)
# W^X off: the JIT's code then lives at the addresses the perf map names (not a double-mapped copy).
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -q -F "$freq" -o "$data" -- \
  dotnet "$dll" "$trace" --engine "$engine" --out "$out" >/dev/null
rm -rf "$out"
echo "$(basename "$trace"): $events events, --engine $engine, perf at $freq Hz"
python3 tools/perf/stages.py "$data" "$freq" "$events"
rm -f "$data"
