#!/usr/bin/env bash
# Prepare the reports the analysis notebook (engines.ipynb) reads.
#
#   notebooks/prepare.sh [OUT]        (default OUT: notebooks/data)
#
# Builds replay once (Release), generates two synthetic workloads with fixed seeds, replays each
# through every engine with the default profile (skylake) into OUT/<workload>/skylake/, reprices
# that report to every other built-in profile into OUT/<workload>/<profile>/, and exports every
# report folder to CSV alongside its Parquet files (for Pythons without a Parquet engine).
# Idempotent: reruns overwrite the same files with the same contents.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$here/data}
events=${REPLAY_EVENTS:-200000}
window=${REPLAY_WINDOW:-5000}
profiles=(prescott core2 nehalem sandybridge skylake)
workloads=(ctxswitch demand)
declare -A seed=([ctxswitch]=1 [demand]=2)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

echo "prepare: building replay (Release)" >&2
dotnet build "$root/src/Replay" -c Release -nologo -v quiet >&2
dll="$root/src/Replay/bin/Release/net10.0/replay.dll"
replay() { dotnet "$dll" "$@"; }

mkdir -p "$out/traces"
out=$(cd "$out" && pwd)
for w in "${workloads[@]}"; do
  trace="$out/traces/$w.pq"
  echo "prepare: $w: generating $events events (seed ${seed[$w]})" >&2
  replay gen "$w" -o "$trace" --events "$events" --seed "${seed[$w]}" >/dev/null

  base="$out/$w/skylake"
  rm -rf "$out/$w"
  mkdir -p "$base"
  echo "prepare: $w: replaying with every engine (skylake)" >&2
  replay "$trace" --engine all --profile skylake --window "$window" --out "$base" >/dev/null

  for p in "${profiles[@]}"; do
    [ "$p" = skylake ] && continue
    echo "prepare: $w: repricing to $p" >&2
    replay reprice "$base" --profile "$p" --out "$out/$w/$p" >/dev/null
  done
  for p in "${profiles[@]}"; do
    replay export "$out/$w/$p" --format csv --out "$out/$w/$p" >/dev/null
  done
done
echo "prepare: reports in $out" >&2
