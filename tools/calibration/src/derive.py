#!/usr/bin/env python3
"""Compute every derived per-unit number in measurements.md from the raw files in out/."""
import re, os, glob, sys
OUT = sys.argv[1] if len(sys.argv) > 1 else 'out'
def perf(fn):
    d = {}
    for ln in open(fn):
        if ln.strip().startswith('#'): continue
        m = re.match(r'\s*([\d,.]+)\s+(?:msec\s+)?([\w:-]+)', ln)
        if m: d[m.group(2)] = float(m.group(1).replace(',', ''))
        m = re.search(r'\(\s*\+-\s*([\d.]+)%\s*\)', ln)
        if m and m:
            mm = re.match(r'\s*([\d,.]+)\s+(?:msec\s+)?([\w:-]+)', ln)
            if mm: d[mm.group(2) + '_sd%'] = float(m.group(1))
        m = re.match(r'\s*([\d.]+) \+- ([\d.]+) seconds time elapsed', ln)
        if m: d['elapsed'] = float(m.group(1)); d['elapsed_sd'] = float(m.group(2))
        m = re.match(r'\s*([\d.]+) seconds time elapsed', ln)
        if m: d['elapsed'] = float(m.group(1))
    return d
def cgfile(fn):
    ev = summ = None
    for ln in open(fn):
        if ln.startswith('events:'): ev = ln.split()[1:]
        elif ln.startswith('summary:'): summ = list(map(int, ln.split()[1:]))
    x = dict(zip(ev, summ))
    return dict(Ir=x['Ir'], D=x['Dr'] + x['Dw'], I1=x['I1mr'], D1=x['D1mr'] + x['D1mw'], LL=x['ILmr'] + x['DLmr'] + x['DLmw'])
def cgsum(files):
    t = dict(Ir=0, D=0, I1=0, D1=0, LL=0)
    for f in files:
        for k, v in cgfile(f).items(): t[k] += v
    return t
def diff(a, b, n):
    return {k: (a[k] - b[k]) / n for k in a}
def fmt(d, per):
    Ir = d['Ir']
    return (f"Ir {Ir:.1f}/{per}, Drefs {d['D']:.1f}/{per}, ITLB miss {d['I1']:.3f}/{per}, DTLB miss {d['D1']:.3f}/{per}, STLB miss {d['LL']:.3f}/{per}"
            + (f" | ITLB MPKI {d['I1']/Ir*1e3:.3f}, DTLB MPKI {d['D1']/Ir*1e3:.3f}, STLB MPKI {d['LL']/Ir*1e3:.3f}, DTLB miss/Dref {d['D1']/d['D']:.5f}, STLB miss/access {d['LL']/(Ir+d['D']):.6f}" if Ir > 0 else ''))
print("=== forkwait")
for b in ('forkwait', 'forkwait_exit', 'pinned_forkwait', 'pinned_forkwait_exit'):
    if not os.path.exists(f'{OUT}/forkwait/perfstat_{b}.txt'): continue
    p = perf(f'{OUT}/forkwait/perfstat_{b}.txt'); n = 40000
    print(f"{b}: faults/iter {p['page-faults']/n:.3f} (±{p.get('page-faults_sd%',0)}%)  cs/iter {p['context-switches']/n:.4f}  migr/iter {p['cpu-migrations']/n:.4f}  "
          f"task-clock/iter {p['task-clock']/n*1e3:.1f} us (±{p.get('task-clock_sd%',0)}%)  wall/iter {p['elapsed']/n*1e6:.1f} us (±{p['elapsed_sd']/p['elapsed']*100:.1f}%)  "
          f"forks {p['sched:sched_process_fork']:.0f}")
for g in ('SKL', 'NHM'):
    for b in ('forkwait', 'forkwait_exit'):
        f = lambda n: sorted(glob.glob(f'{OUT}/forkwait/cg_{g}_{b}_n{n}/cg.*'), key=lambda s: int(s.split('.')[-1]))[0]
        print(f"parent per iteration {g} {b}: " + fmt(diff(cgfile(f(201)), cgfile(f(101)), 100), 'iter'))
print("=== kbuild")
for tag, fn in (('prepare', f'{OUT}/kbuild/perfstat_prepare.txt'), ('kernel/ mm/', f'{OUT}/kbuild/perfstat_kernel_mm.txt'),
                ('full prepare', f'{OUT}/kbuild_full/perfstat_prepare.txt'), ('full vmlinux', f'{OUT}/kbuild_full/perfstat_vmlinux.txt')):
    if not os.path.exists(fn): continue
    p = perf(fn)
    if 'task-clock' not in p: continue
    s = p['task-clock'] / 1000
    print(f"{tag}: CPU-s {s:.1f} wall {p['elapsed']:.1f}s  per CPU-s: faults {p['page-faults']/s:.0f} cs {p['context-switches']/s:.1f} "
          f"migr {p['cpu-migrations']/s:.2f} forks {p['sched:sched_process_fork']/s:.2f} execs {p['sched:sched_process_exec']/s:.2f}  "
          f"(totals faults {p['page-faults']:.0f} cs {p['context-switches']:.0f} forks {p['sched:sched_process_fork']:.0f} execs {p['sched:sched_process_exec']:.0f})")
    p_k = p
    # instructions per CPU-second: cc1's Ir / cc1 task-clock, each unit and mean
    ips = []
    for u in ('kernel_fork', 'mm_memory', 'kernel_sched_core'):
        c = [f for f in glob.glob(f'{OUT}/kunits/cg_SKL_{u}/cg.*') if '/cc1 ' in open(f).read(3000)]
        Ir = cgfile(c[0])['Ir']; tc = perf(f'{OUT}/kunits/{u}.perf_cc1.txt')['task-clock'] / 1000
        ips.append(Ir / tc)
    m = sum(ips) / len(ips)
    print(f"   cc1 Ir/task-clock-s: {', '.join(f'{x/1e9:.3f}' for x in ips)} G/s, mean {m/1e9:.3f} G/s (min {min(ips)/1e9:.3f}, max {max(ips)/1e9:.3f})")
    for lab, r in (('mean', m), ('min', min(ips)), ('max', max(ips))):
        print(f"   with {lab} rate: faults/kI {p['page-faults']/s/r*1e3:.5f}  cs/MI {p['context-switches']/s/r*1e6:.4f}  forks/MI {p['sched:sched_process_fork']/s/r*1e6:.5f}  execs/MI {p['sched:sched_process_exec']/s/r*1e6:.5f}")
print("=== kunits cc1 per unit")
for u in ('kernel_fork', 'mm_memory', 'kernel_sched_core'):
    for g in ('SKL', 'NHM'):
        for name in ('gcc', 'cc1', 'as'):
            c = [f for f in glob.glob(f'{OUT}/kunits/cg_{g}_{u}/cg.*') if re.search(r'^cmd: \S*/' + name + ' ', open(f).read(3000), re.M)]
            if c:
                print(f"{u} {g} {name}: " + fmt(cgfile(c[0]), 'proc'))
    p = perf(f'{OUT}/kunits/{u}.perf_cc1.txt')
    print(f"{u} cc1 perf: faults {p['page-faults']:.0f} task-clock {p['task-clock']:.1f} ms (±{p.get('task-clock_sd%',0)}%)")
print("=== sqlite")
S = lambda g, s: cgfile(f'{OUT}/sqlite/cg_{g}_{s}.out')
for g in ('SKL', 'NHM'):
    print(f"{g} CTE lookup phase incl. CTE driver (cte_200k - base)/200k: " + fmt(diff(S(g, 'cte_200k'), S(g, 'base'), 200000), 'lookup'))
    print(f"{g} CTE driver alone (cte0_200k - base)/200k:               " + fmt(diff(S(g, 'cte0_200k'), S(g, 'base'), 200000), 'row'))
    print(f"{g} B-tree lookup only (cte_200k - cte0_200k)/200k:          " + fmt(diff(S(g, 'cte_200k'), S(g, 'cte0_200k'), 200000), 'lookup'))
    print(f"{g} separate SQL statements (stmt_100k - base)/100k:        " + fmt(diff(S(g, 'stmt_100k'), S(g, 'base'), 100000), 'stmt'))
    print(f"{g} warm-up (base: open + full scan):                       " + fmt(S(g, 'base'), 'run'))
pb = perf(f'{OUT}/sqlite/perf_base.txt')
for s, n in (('cte_2M', 2e6), ('cte0_2M', 2e6), ('stmt_500k', 5e5)):
    p = perf(f'{OUT}/sqlite/perf_{s}.txt')
    print(f"perf {s} - base: faults {(p['page-faults']-pb['page-faults']):.0f} total ({(p['page-faults']-pb['page-faults'])/n:.6f}/op)  "
          f"cs {(p['context-switches']-pb['context-switches']):.0f} ({(p['context-switches']-pb['context-switches'])/n:.5f}/op)  "
          f"task-clock {(p['task-clock']-pb['task-clock'])/n*1e3:.3f} us/op (run ±{p.get('task-clock_sd%',0)}%, base ±{pb.get('task-clock_sd%',0)}%)")
print(f"perf base: faults {pb['page-faults']:.0f} cs {pb['context-switches']:.0f} task-clock {pb['task-clock']:.0f} ms")
print("=== nginx")
for mode in ('close', 'keepalive'):
    for r in (1, 2, 3):
        p = perf(f'{OUT}/nginx/perf_{mode}_{r}.txt'); n = 20000
        print(f"{mode} run{r}: faults/req {p['page-faults']/n:.4f} cs/req {p['context-switches']/n:.3f} task-clock/req {p['task-clock']/n*1e3:.1f} us  wall/req {p['elapsed']/n*1e6:.1f} us")
    for g in ('SKL', 'NHM'):
        a = cgsum(glob.glob(f'{OUT}/nginx/cg_{g}_{mode}_4000.out.*')); b = cgsum(glob.glob(f'{OUT}/nginx/cg_{g}_{mode}_0.out.*'))
        print(f"{mode} {g} per request: " + fmt(diff(a, b, 4000), 'req'))
print("=== latctx")
for pin in ('free', 'cpu0'):
    p = perf(f'{OUT}/latctx/perf_{pin}.txt'); n = 200000
    print(f"{pin}: cs/rt {p['context-switches']/n:.4f} faults total {p['page-faults']:.0f} migr/rt {p['cpu-migrations']/n:.5f} task-clock/rt {p['task-clock']/n*1e3:.2f} us (±{p.get('task-clock_sd%',0)}%) wall/rt {p['elapsed']/n*1e6:.2f} us")
for g in ('SKL', 'NHM'):
    a = cgsum(glob.glob(f'{OUT}/latctx/cg_{g}_40000/cg.*')); b = cgsum(glob.glob(f'{OUT}/latctx/cg_{g}_20000/cg.*'))
    print(f"{g} per round trip (both processes): " + fmt(diff(a, b, 20000), 'rt'))
print("=== churn")
p = perf(f'{OUT}/churn/perf_200k.txt'); p0 = perf(f'{OUT}/churn/perf_0.txt')
pages = int(re.search(r'pages_touched=(\d+)', open(f'{OUT}/churn/run_200k.txt').read()).group(1))
print(f"faults/page {(p['page-faults']-p0['page-faults'])/pages:.5f}  pages {pages}  task-clock/page {p['task-clock']/pages*1e3:.3f} us  "
      f"faults per task-clock-s {(p['page-faults']-p0['page-faults'])/(p['task-clock']/1000):.0f}  faults per wall-s {(p['page-faults']-p0['page-faults'])/p['elapsed']:.0f}  cs {p['context-switches']:.0f}")
def pg(n):
    return int(re.search(r'pages_touched=(\d+)', open(f'{OUT}/churn/cg_run_SKL_{n}.txt').read()).group(1))
for g in ('SKL', 'NHM'):
    a = cgfile(glob.glob(f'{OUT}/churn/cg_{g}_20000.out.*')[0]); b = cgfile(glob.glob(f'{OUT}/churn/cg_{g}_10000.out.*')[0])
    print(f"{g} per touched page: " + fmt(diff(a, b, pg(20000) - pg(10000)), 'page'))
    print(f"{g} per region (mmap+touch+munmap): " + fmt(diff(a, b, 10000), 'region'))
