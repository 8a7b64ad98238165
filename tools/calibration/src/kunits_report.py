#!/usr/bin/env python3
"""Tabulate out/kunits: per compile unit, /usr/bin/time -v, perf stat (gcc / cc1 / as / recipe),
cachegrind per process (both geometries), cc1 instructions per task-clock second."""
import sys, re, glob, os
O = sys.argv[1]
def perf(fn):
    d = {}
    if not os.path.exists(fn): return d
    for ln in open(fn):
        m = re.match(r'\s*([\d,.]+)\s+(?:msec\s+)?([\w:-]+)', ln)
        if m and not ln.strip().startswith('#'):
            d[m.group(2)] = float(m.group(1).replace(',', ''))
        m = re.match(r'\s*([\d.]+) \+- ([\d.]+) seconds time elapsed', ln)
        if m: d['elapsed'] = float(m.group(1)); d['elapsed_sd'] = float(m.group(2))
        m = re.match(r'\s*([\d.]+) seconds time elapsed', ln)
        if m: d['elapsed'] = float(m.group(1))
    return d
def timev(fn):
    runs = []; cur = {}
    for ln in open(fn):
        ln = ln.strip()
        for key, name in (('Maximum resident set size (kbytes)', 'maxrss'), ('Minor (reclaiming a frame) page faults', 'minflt'),
                          ('Major (requiring I/O) page faults', 'majflt'), ('Voluntary context switches', 'vcs'),
                          ('Involuntary context switches', 'ivcs'), ('Elapsed (wall clock) time (h:mm:ss or m:ss)', 'wall'),
                          ('User time (seconds)', 'user'), ('System time (seconds)', 'sys')):
            if ln.startswith(key + ':'):
                v = ln.split(': ', 1)[1]
                if name == 'wall':
                    mm, ss = v.split(':')[-2:]; v = int(mm) * 60 + float(ss)
                cur[name] = float(v)
        if ln.startswith('Exit status'):
            runs.append(cur); cur = {}
    return runs
def cg(d):
    res = {}
    for fn in glob.glob(d + '/cg.*'):
        ev = summ = None; cmd = ''
        for ln in open(fn):
            if ln.startswith('events:'): ev = ln.split()[1:]
            elif ln.startswith('summary:'): summ = list(map(int, ln.split()[1:]))
            elif ln.startswith('cmd:'): cmd = ln.split()[1]
        x = dict(zip(ev, summ)); name = os.path.basename(cmd)
        res[name] = x
    return res
for u in ['kernel_fork', 'mm_memory', 'kernel_sched_core']:
    print(f"\n### {dict(kernel_fork='kernel/fork.c', mm_memory='mm/memory.c', kernel_sched_core='kernel/sched/core.c')[u]}")
    tv = timev(f'{O}/{u}.time.txt')
    for i, r in enumerate(tv):
        print(f"  time -v run{i+1}: wall {r['wall']:.2f}s user {r['user']:.2f}s sys {r['sys']:.2f}s maxRSS {r['maxrss']/1024:.1f} MiB "
              f"minflt {r['minflt']:.0f} majflt {r['majflt']:.0f} vol-cs {r['vcs']:.0f} invol-cs {r['ivcs']:.0f}")
    P = {k: perf(f'{O}/{u}.perf_{k}.txt') for k in ('gcc', 'cc1', 'as', 'recipe')}
    for k, d in P.items():
        print(f"  perf stat -r3 {k:6s}: task-clock {d.get('task-clock', 0):8.1f} ms  faults {d.get('page-faults', 0):7.0f}  "
              f"cs {d.get('context-switches', 0):5.0f}  migr {d.get('cpu-migrations', 0):3.0f}  forks {d.get('sched:sched_process_fork', float('nan'))} "
              f"execs {d.get('sched:sched_process_exec', float('nan'))}  elapsed {d.get('elapsed', 0):.3f}s")
    for g in ('SKL', 'NHM'):
        c = cg(f'{O}/cg_{g}_{u}')
        for name in ('gcc', 'cc1', 'as'):
            x = c.get(name)
            if not x: continue
            Ir = x['Ir']; D = x['Dr'] + x['Dw']; D1 = x['D1mr'] + x['D1mw']; LL = x['ILmr'] + x['DLmr'] + x['DLmw']
            print(f"  cachegrind {g} {name:4s}: Ir {Ir:>13,}  Drefs {D:>13,}  ITLB miss {x['I1mr']:>10,} ({x['I1mr']/Ir*1e3:.3f} MPKI)  "
                  f"DTLB miss {D1:>11,} ({D1/Ir*1e3:.3f} MPKI, {D1/D*100:.3f}% of Drefs)  STLB miss {LL:>9,} ({LL/Ir*1e3:.4f} MPKI, "
                  f"{LL/(Ir+D)*100:.4f}% of accesses)")
        if g == 'SKL' and 'cc1' in c and P['cc1'].get('task-clock'):
            ips = c['cc1']['Ir'] / (P['cc1']['task-clock'] / 1000)
            print(f"  cc1 user instructions per task-clock second: {ips/1e9:.3f} G/s  (Ir {c['cc1']['Ir']:,} / {P['cc1']['task-clock']:.1f} ms)")
            allIr = sum(v['Ir'] for v in c.values())
            print(f"  whole invocation (driver+cc1+as) Ir {allIr:,} over gcc task-clock {P['gcc'].get('task-clock',0):.1f} ms = "
                  f"{allIr/(P['gcc']['task-clock']/1000)/1e9:.3f} G/s")
    sm = f'{O}/{u}.cc1peak.summary.txt'
    if os.path.exists(sm):
        print("  cc1 near-peak address space: " + ' | '.join(l.strip() for l in open(sm) if l.startswith(('VMAs', 'present', 'VmRSS', 'VmExe', 'VmData', 'VmPTE', 'VmLib'))))
