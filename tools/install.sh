#!/usr/bin/env bash
# Installs the `replay` command: publishes src/Replay (Release, ReadyToRun: the code is compiled ahead of time,
# which halves a run's fixed start-up cost against `dotnet run` or a plain build) into PREFIX/lib/replay and puts a
# launcher at PREFIX/bin/replay. Run it again after pulling to update the command.
#
#   bash tools/install.sh                 # PREFIX: /usr/local if its bin is writable, else ~/.local
#   bash tools/install.sh --prefix DIR    # or PREFIX=DIR bash tools/install.sh
#
# Needs the .NET 10 SDK (`dotnet` on PATH, also at run time: the command runs on the shared framework).
# Uninstall: rm -rf PREFIX/lib/replay PREFIX/bin/replay.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${PREFIX:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$prefix" ]; then
  if [ -w /usr/local/bin ]; then prefix=/usr/local; else prefix=$HOME/.local; fi
fi

lib="$prefix/lib/replay"
bin="$prefix/bin"
mkdir -p "$bin"
bash tools/publish.sh "$lib.new"
rm -rf "$lib" && mv "$lib.new" "$lib"

# A script rather than the apphost: it finds the runtime the same way `dotnet` on PATH does.
cat > "$bin/replay.new" <<LAUNCHER
#!/bin/sh
exec dotnet "$lib/replay.dll" "\$@"
LAUNCHER
chmod +x "$bin/replay.new" && mv "$bin/replay.new" "$bin/replay"

echo "installed: $bin/replay ($("$bin/replay" --version))" >&2
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "note: $bin is not on PATH; add it (export PATH=\"$bin:\$PATH\") or call $bin/replay" >&2 ;;
esac
