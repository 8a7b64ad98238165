#!/usr/bin/env python3
"""Sum cachegrind 'summary:' lines over files; print totals and per-kI rates.
usage: cgsum.py [--cache] FILE...   (events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw)
The simulated "caches" are TLBs when run with page-sized lines (4096 B), so the rates are
labelled ITLB/DTLB/STLB; with --cache (64 B lines) they are labelled L1I/L1D/LL."""
import sys
args = sys.argv[1:]
CACHE = bool(args) and args[0] == '--cache'
if CACHE: args = args[1:]
N1, N2, N3 = ('L1I', 'L1D', 'LL') if CACHE else ('ITLB', 'DTLB', 'STLB')
tot = [0]*9
per = []
for fn in args:
    ev = None; summ = None; cmd = ''
    for ln in open(fn):
        if ln.startswith('events:'): ev = ln.split()[1:]
        elif ln.startswith('summary:'): summ = [int(x) for x in ln.split()[1:]]
        elif ln.startswith('cmd:'): cmd = ln[4:].strip()
    d = dict(zip(ev, summ))
    v = [d.get(k, 0) for k in 'Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw'.split()]
    per.append((fn, cmd, v))
    tot = [a+b for a, b in zip(tot, v)]
def line(name, v):
    Ir, I1mr, ILmr, Dr, D1mr, DLmr, Dw, D1mw, DLmw = v
    D = Dr + Dw; D1m = D1mr + D1mw; LLm = ILmr + DLmr + DLmw
    k = Ir / 1000 if Ir else float('nan')
    return (f"{name}: Ir={Ir} Drefs={D} (Dr={Dr} Dw={Dw}) I1m={I1mr} D1m={D1m} LLm={LLm} (LLi={ILmr} LLd={DLmr+DLmw}) | "
            f"{N1}_MPKI={I1mr/k:.4f} {N2}_MPKI={D1m/k:.4f} {N3}_MPKI={LLm/k:.4f} {N3}d_MPKI={(DLmr+DLmw)/k:.4f} | "
            f"{N2}_miss/Dref={D1m/max(D,1):.6f} {N3}_miss/access(I+D)={LLm/max(Ir+D,1):.6f} Dref/Ir={D/max(Ir,1):.4f}")
if len(per) <= 12:
    for fn, cmd, v in per:
        print(line(fn.split('/')[-1] + ' [' + cmd[:60] + ']', v))
print(line('TOTAL(%d files)' % len(per), tot))
