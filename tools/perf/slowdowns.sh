#!/usr/bin/env bash
# Every engine's slowdown per named workload (200k events, seed 1), profiles nehalem and skylake: the README table.
# Usage: tools/perf/slowdowns.sh [WORKDIR] (REPLAY=path-to-replay to use another build).
set -euo pipefail
R=${REPLAY:-replay}
W=${1:-/tmp/slow}
mkdir -p "$W"
for w in forkwait kernel-build database webserver ctxswitch demand; do
  [ -f "$W/$w.pq" ] || $R gen $w -o "$W/$w.pq" --events 200000 --seed 1 >/dev/null
  for p in nehalem skylake; do
    $R "$W/$w.pq" --engine all --profile $p --json --out "$W/r-$w-$p" 2>/dev/null > "$W/$w-$p.json"
  done
done
python3 - "$W" <<'PY'
import json, sys, os
W=sys.argv[1]
rows={}
engines=[]
for w in ["forkwait","kernel-build","database","webserver","ctxswitch","demand"]:
    for p in ["nehalem","skylake"]:
        for r in json.load(open(f"{W}/{w}-{p}.json")):
            if r["phase"]!="all": continue
            e=r["engine"]
            if e not in engines: engines.append(e)
            rows[(w,p,e)]=r["slowdown"]
print("| workload | " + " | ".join(f"`{e}`" for e in engines if e!="native") + " |")
print("|---|" + "---:|"*(len(engines)-1))
for w in ["forkwait","kernel-build","database","webserver","ctxswitch","demand"]:
    cells=[]
    for e in engines:
        if e=="native": continue
        a=rows.get((w,"nehalem",e)); b=rows.get((w,"skylake",e))
        cells.append(f"{a:.3f} / {b:.3f}" if a and b else "–")
    print(f"| {w} | " + " | ".join(cells) + " |")
PY
