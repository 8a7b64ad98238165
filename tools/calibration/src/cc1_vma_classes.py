#!/usr/bin/env python3
"""Group a cc1 smaps snapshot into classes: cc1 text / cc1 other file segments / shared-lib text /
shared-lib other / brk heap / anonymous mmap (GC pools, malloc arenas) / stack / other."""
import sys, re
hdr = re.compile(r'^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+\S+\s+\S+\s+(\d+)\s*(.*)$')
cls = {}; cur = None
def add(c, size, rss, anon):
    a = cls.setdefault(c, [0, 0, 0, 0]); a[0] += 1; a[1] += size; a[2] += rss; a[3] += anon
vm = []
for ln in open(sys.argv[1]):
    m = hdr.match(ln)
    if m:
        s, e, perm, ino, path = m.groups(); cur = dict(size=(int(e, 16) - int(s, 16)) // 1024, perm=perm, ino=int(ino), path=path.strip(), f={}); vm.append(cur); continue
    k, _, v = ln.partition(':')
    if v.strip().endswith('kB'): cur['f'][k] = int(v.split()[0])
for v in vm:
    p, perm = v['path'], v['perm']
    if p.endswith('/cc1'): c = 'cc1 text (r-xp, file)' if 'x' in perm else 'cc1 other segments (file)'
    elif v['ino'] and ('.so' in p): c = 'shared-lib text (r-xp)' if 'x' in perm else 'shared-lib other segments'
    elif v['ino']: c = 'other file mappings (locale etc.)'
    elif p == '[heap]': c = 'brk heap'
    elif p == '[stack]': c = 'stack'
    elif p.startswith('['): c = 'vdso/vvar/vsyscall'
    else: c = 'anonymous mmap (rw)' if 'w' in perm else 'anonymous other (guard etc.)'
    add(c, v['size'], v['f'].get('Rss', 0), v['f'].get('Anonymous', 0))
print(f"{'class':36s} {'VMAs':>5s} {'size KiB':>10s} {'Rss KiB':>9s} {'Anon KiB':>9s}")
for c, (n, s, r, a) in sorted(cls.items(), key=lambda x: -x[1][1]):
    print(f"{c:36s} {n:5d} {s:10d} {r:9d} {a:9d}")
