#!/usr/bin/env bash
# Publishes src/Replay as tools/install.sh does (Release, ReadyToRun for this machine's runtime identifier, on the
# shared framework) into DIR, so floor.sh and stages.sh (R2R=1) time the `replay` a user runs: its code compiled
# ahead of time, only the generic instantiations ReadyToRun cannot pregenerate and the tier-1 recompiles of hot
# methods JIT-compiled at run time. A plain `dotnet build` JIT-compiles every method it runs (about 0.4 s more CPU
# per process on this machine).
#
#   tools/perf/r2r.sh DIR        # then: dotnet DIR/replay.dll ...
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: tools/perf/r2r.sh DIR}
case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "r2r.sh: no ReadyToRun for $(uname -m)" >&2; exit 1 ;;
esac
os=linux
[ "$(uname -s)" = Darwin ] && os=osx
rm -rf "$out"
dotnet publish src/Replay -c Release -r "$os-$arch" --self-contained false -p:PublishReadyToRun=true -nologo -v quiet -o "$out" >&2
echo "$out/replay.dll"
