#!/usr/bin/env bash
# Publishes src/Replay into DIR (emptied first) the one way `replay` is shipped: Release, ReadyToRun for this
# machine's runtime identifier (the code compiled ahead of time), on the shared framework (not self-contained).
# Used by install.sh (the command users run) and perf/r2r.sh (the same build, timed).
#
#   tools/publish.sh DIR              # no ReadyToRun for this machine: a JIT-only publish, with a note on stderr
#   REQUIRE_R2R=1 tools/publish.sh DIR  # ... or, with REQUIRE_R2R=1, exit 1 instead
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: tools/publish.sh DIR}

case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) arch= ;;
esac
os=linux
[ "$(uname -s)" = Darwin ] && os=osx
rm -rf "$out"
if [ -n "$arch" ]; then
  # ReadyToRun needs a runtime identifier; the output still runs on the shared framework.
  dotnet publish src/Replay -c Release -r "$os-$arch" --self-contained false -p:PublishReadyToRun=true \
    -nologo -v quiet -o "$out" >&2
elif [ "${REQUIRE_R2R:-0}" = 1 ]; then
  echo "publish.sh: no ReadyToRun for $(uname -m)" >&2
  exit 1
else
  echo "publish.sh: no ReadyToRun for $(uname -m): JIT only" >&2
  dotnet publish src/Replay -c Release -nologo -v quiet -o "$out" >&2
fi
