#!/usr/bin/env python3
"""Distinct 4K pages touched by a forked child in a lackey --trace-mem trace.
usage: fw_child_pages.py MAPS TRACE...
MAPS = /proc/PID/maps of the (valgrind) process captured while the client was stopped,
used to name each page's mapping.  Splits pages into code (instruction fetch), data
(non-stack loads/stores), stack; and by mapping."""
import sys, re, collections
maps = []
for ln in open(sys.argv[1]):
    p = ln.split()
    s, e = (int(x, 16) for x in p[0].split('-'))
    name = p[5] if len(p) > 5 else '[anon]'
    if 0x1ff0000000 <= s < 0x2000000000 and len(p) <= 5:
        name = '[stack]'          # valgrind places the amd64 client stack just below 0x1fff001000
    name = name.split('/')[-1]
    if name.startswith('forkwait'):
        name = 'forkwait(main binary)'
    maps.append((s, e, p[1], name))
def where(a):
    for s, e, perm, name in maps:
        if s <= a < e:
            return f"{name}({perm})"
    return '?'
for tr in sys.argv[2:]:
    ipages, dpages = set(), collections.defaultdict(set)
    nI = nD = 0
    for ln in open(tr):
        if ln.startswith('='):
            continue
        t = ln.strip()
        if not t or t[0] not in 'ILSM':
            continue
        k = t[0]; a, sz = t[1:].strip().split(',')
        a = int(a, 16); sz = int(sz)
        pages = {a >> 12, (a + sz - 1) >> 12}
        if k == 'I':
            nI += 1; ipages |= pages
        else:
            nD += 1
            for pg in pages:
                dpages[pg].add(k)
    stack = {p for p in dpages if 'stack' in where(p << 12)}
    data = set(dpages) - stack
    written = {p for p, ks in dpages.items() if ks & {'S', 'M'}}
    print(f"== {tr}: instructions={nI} data refs={nD}")
    print(f"  distinct pages: code={len(ipages)} data(non-stack)={len(data)} stack={len(stack)} "
          f"total={len(ipages | set(dpages))}; data+stack pages written={len(written)} read-only={len(set(dpages)-written)}")
    by = collections.Counter()
    for p in ipages: by[('code', where(p << 12))] += 1
    for p in dpages: by[('data-W' if p in written else 'data-R', where(p << 12))] += 1
    for (k, w), n in sorted(by.items()):
        print(f"    {k:7s} {w:45s} {n}")
