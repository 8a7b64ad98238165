#!/usr/bin/env bash
# Publishes src/Replay as tools/install.sh does (both through tools/publish.sh: Release, ReadyToRun for this
# machine's runtime identifier, on the shared framework) into DIR, so floor.sh and stages.sh (R2R=1) time the
# `replay` a user runs: its code compiled ahead of time, only the generic instantiations ReadyToRun cannot
# pregenerate and the tier-1 recompiles of hot methods JIT-compiled at run time. A plain `dotnet build` JIT-compiles
# every method it runs (about 0.4 s more CPU per process on this machine).
#
#   tools/perf/r2r.sh DIR        # then: dotnet DIR/replay.dll ...
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: tools/perf/r2r.sh DIR}
REQUIRE_R2R=1 bash tools/publish.sh "$out"
echo "$out/replay.dll"
