#!/usr/bin/env python3
"""Classify page faults from `perf script -F pid,tid,ip,sym,dso,addr` of a
`perf record -e page-faults -c 1 -d` run of forkwait.
Parent = first pid seen.  For each child pid: count faults by (mapping of the
faulting address, kind) where kind = ifetch (addr page == ip page, user ip),
kdata (ip in kernel: e.g. put_user of set_child_tid / copy_to_user), udata."""
import sys, re, collections
line_re = re.compile(r'^\s*(\d+)/(\d+)\s+([0-9a-f]+)\s+(.*?)\s+\((.*?)\)\s+([0-9a-f]+)\s+(.*?)\s+\((.*?)\)\s*$')
rows = []
for ln in open(sys.argv[1]):
    m = line_re.match(ln)
    if not m:
        continue
    pid, tid, addr, asym, adso, ip, isym, idso = m.groups()
    rows.append((int(pid), int(addr, 16), adso, int(ip, 16), isym, idso))
parent = rows[0][0]
def short(d):
    d = d.split('/')[-1]
    return d
def kind(addr, ip, idso):
    if 'kernel' in idso:
        return 'kernel-ip'
    if addr >> 12 == ip >> 12:
        return 'ifetch'
    return 'user-data'
per_child = collections.defaultdict(list)
par_loop = []
seen_fork = False
for pid, addr, adso, ip, isym, idso in rows:
    if pid == parent:
        par_loop.append((addr, adso, ip, isym, idso))
    else:
        per_child[pid].append((addr, adso, ip, isym, idso))
children = sorted(per_child)
print(f"parent pid {parent}: total faults {len(par_loop)}; children: {len(children)}")
cnt = collections.Counter(len(v) for v in per_child.values())
print("faults per child histogram:", dict(sorted(cnt.items())))
# detailed breakdown for a steady-state child (the 10th)
def breakdown(v):
    c = collections.Counter()
    for addr, adso, ip, isym, idso in v:
        c[(short(adso), kind(addr, ip, idso))] += 1
    return c
agg = collections.Counter()
for p in children[5:]:
    agg += breakdown(per_child[p])
n = len(children[5:])
print(f"\nmean faults per child over children[5:] (n={n}) by (mapping of fault addr, kind):")
for k, v in sorted(agg.items(), key=lambda x: -x[1]):
    print(f"  {k[0]:35s} {k[1]:10s} {v/n:6.2f}")
print(f"  total {sum(agg.values())/n:.2f}")
print("\nexample child (children[10]) fault list: addr  mapping  ip-symbol")
for addr, adso, ip, isym, idso in per_child[children[10]]:
    print(f"  {addr:016x} {short(adso):28s} {kind(addr, ip, idso):10s} {isym} ({short(idso)})")
# parent faults between first fork and end
first_fork_idx = None
print("\nparent faults total (whole run incl. startup):", len(par_loop))
# parent faults after the first child fault appears (i.e. inside the loop)
idx = next(i for i, r in enumerate(rows) if r[0] != parent)
loop_par = [r for r in rows[idx:] if r[0] == parent]
c = collections.Counter((short(r[2]), kind(r[1], r[3], r[5]), r[4]) for r in loop_par)
print(f"parent faults inside loop (after first child fault): {len(loop_par)}  per iteration ~ {len(loop_par)/len(children):.2f}")
for k, v in sorted(c.items(), key=lambda x: -x[1])[:12]:
    print(f"  {k[0]:28s} {k[1]:10s} {k[2]:30s} {v}")
