#!/usr/bin/env python3
"""Run a shell command; while it runs, poll every ~10 ms for a descendant process whose
comm is TARGET (e.g. cc1); keep a copy of its /proc/PID/smaps and status taken at the
highest VmRSS seen (re-read whenever RSS grew >=2% over the last saved copy).
usage: peak_smaps.py TARGET OUTPREFIX CWD -- shell-command"""
import sys, os, subprocess, time
target, outp, cwd = sys.argv[1:4]
cmd = ' '.join(sys.argv[5:])
p = subprocess.Popen(cmd, shell=True, cwd=cwd)
best = 0; samples = 0; pid_seen = None; rss_trace = []
t0 = time.time()
def rss_of(pid):
    try:
        for ln in open(f'/proc/{pid}/status'):
            if ln.startswith('VmRSS'):
                return int(ln.split()[1])
    except OSError:
        return None
while p.poll() is None:
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            if open(f'/proc/{d}/comm').read().strip() != target:
                continue
        except OSError:
            continue
        pid_seen = d
        r = rss_of(d)
        if r is None:
            continue
        samples += 1
        rss_trace.append((round(time.time() - t0, 3), r))
        if r >= best * 1.02:
            try:
                sm = open(f'/proc/{d}/smaps').read(); st = open(f'/proc/{d}/status').read()
                open(outp + '.smaps', 'w').write(sm); open(outp + '.status', 'w').write(st)
                best = r
            except OSError:
                pass
    time.sleep(0.01)
with open(outp + '.rsstrace', 'w') as f:
    for t, r in rss_trace:
        f.write(f"{t} {r}\n")
print(f"target={target} pid={pid_seen} samples={samples} peak_saved_VmRSS_kB={best} rc={p.returncode}")
