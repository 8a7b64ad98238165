#!/usr/bin/env python3
"""Summarise /proc/PID/smaps (file given as argv[1]) + status (argv[2]):
one line per VMA: range, size KiB, perms, file-backed?, Rss, Anonymous, pathname;
totals of present pages (Rss/4K), anonymous present pages, file-backed present pages."""
import sys, re
vmas = []
cur = None
hdr = re.compile(r'^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)\s*(.*)$')
for ln in open(sys.argv[1]):
    m = hdr.match(ln)
    if m:
        s, e, perms, off, dev, inode, path = m.groups()
        cur = dict(start=int(s, 16), end=int(e, 16), perms=perms, inode=int(inode), path=path.strip(), f={})
        vmas.append(cur)
        continue
    k, _, v = ln.partition(':')
    v = v.strip()
    if v.endswith('kB'):
        cur['f'][k] = int(v.split()[0])
    else:
        cur['f'][k] = v
print(f"{'start':>14} {'end':>14} {'perms':5} {'sizeKB':>8} {'RssKB':>7} {'AnonKB':>7} {'file?':5} {'wr':2} path")
tot = dict(rss=0, anon=0, file_rss=0, size=0, n=0, thp=0)
for v in vmas:
    f = v['f']
    fb = v['inode'] != 0
    size = (v['end'] - v['start']) // 1024
    rss = f.get('Rss', 0); anon = f.get('Anonymous', 0)
    tot['rss'] += rss; tot['anon'] += anon; tot['size'] += size; tot['n'] += 1
    tot['file_rss'] += rss - anon
    tot['thp'] += f.get('AnonHugePages', 0)
    print(f"{v['start']:14x} {v['end']:14x} {v['perms']:5} {size:8d} {rss:7d} {anon:7d} {'file' if fb else 'anon':5} {'w' if 'w' in v['perms'] else '-':2} {v['path']}")
print(f"VMAs: {tot['n']}  total size {tot['size']} KiB ({tot['size']//4} pages)")
print(f"present pages (Rss): {tot['rss']//4}  anonymous present pages: {tot['anon']//4}  "
      f"file-backed(non-anon) present pages: {tot['file_rss']//4}  AnonHugePages: {tot['thp']} KiB")
if len(sys.argv) > 2:
    for ln in open(sys.argv[2]):
        if ln.startswith(('VmPeak', 'VmSize', 'VmRSS', 'RssAnon', 'RssFile', 'RssShmem', 'VmData', 'VmStk', 'VmExe', 'VmLib', 'VmPTE')):
            print(ln.rstrip())
