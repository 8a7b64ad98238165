#!/usr/bin/env python3
"""Per-child report from lackey traces of forkwait (3 iterations).
usage: fw_lackey_report.py LKDIR TLBSIM "SKL sets:ways x3" "NHM sets:ways x3"
For every variant dir in LKDIR: parent = lowest pid file.  For each child file:
own instructions/data refs (trace lines after fork), TLB sim cold (fresh TLB, like a new
ASID) and warm (TLB state inherited from the parent's first P_k instructions, which is what
cachegrind --trace-children does), distinct pages (fw_child_pages.py)."""
import sys, os, re, subprocess, glob
lkdir, tlbsim, skl, nhm = sys.argv[1:5]
here = os.path.dirname(os.path.abspath(__file__))
maps = os.path.join(lkdir, 'valgrind_client.maps')
def guest_instrs(f):
    for ln in open(f):
        m = re.search(r'guest instrs:\s+([\d,]+)', ln)
        if m:
            return int(m.group(1).replace(',', ''))
def sim(geom, trace, warm=None):
    cmd = [tlbsim] + (['--warm', warm[0], str(warm[1])] if warm else []) + geom.split()
    r = subprocess.run(cmd, stdin=open(trace), capture_output=True, text=True).stdout.split()
    d = dict(zip(r[0::2], map(int, r[1::2])))
    k = d['Ir'] / 1000
    D1 = d['D1mr'] + d['D1mw']; LL = d['LLmi'] + d['LLmr'] + d['LLmw']
    return (f"Ir={d['Ir']} Drefs={d['Dr']+d['Dw']} I1m(ITLB)={d['I1m']} D1m(DTLB)={D1} LLm(STLB)={LL} | "
            f"ITLB_MPKI={d['I1m']/k:.2f} DTLB_MPKI={D1/k:.2f} STLB_MPKI={LL/k:.2f} DTLB_miss/Dref={D1/(d['Dr']+d['Dw']):.4f}")
for var in sorted(d for d in os.listdir(lkdir) if os.path.isdir(os.path.join(lkdir, d))):
    files = sorted(glob.glob(os.path.join(lkdir, var, 'lk.*')), key=lambda f: int(f.split('.')[-1]))
    parent, kids = files[0], files[1:]
    print(f"##### {var}: parent {os.path.basename(parent)} guest instrs {guest_instrs(parent)}; children {len(kids)}")
    for k in kids:
        own = sum(1 for ln in open(k) if ln.startswith('I'))
        Pk = guest_instrs(k) - own
        print(f"--- child {os.path.basename(k)}: own instructions {own}; parent instructions before this fork P_k={Pk}")
        for name, g in (('SKL', skl), ('NHM', nhm)):
            print(f"   {name} cold: {sim(g, k)}")
            print(f"   {name} warm: {sim(g, k, (parent, Pk))}")
    # parent steady-state iteration: instructions [P_2, P_3) of the parent trace (between the
    # 2nd and 3rd fork syscalls; the 1st iteration includes lazy PLT binding of waitpid)
    Ps = [guest_instrs(k) - sum(1 for ln in open(k) if ln.startswith('I')) for k in kids]
    if len(Ps) >= 3:
        a, b = Ps[1], Ps[2]
        sl = os.path.join(lkdir, var, 'parent_iter.trace')
        with open(sl, 'w') as out:
            n = -1
            for ln in open(parent):
                if ln.startswith('I'):
                    n += 1
                if a <= n < b and not ln.startswith('='):
                    out.write(ln)
                if n >= b:
                    break
        print(f"--- parent steady-state iteration (instructions {a}..{b} of the parent trace): {b-a} instructions")
        for name, g in (('SKL', skl), ('NHM', nhm)):
            print(f"   {name} cold (TLB flushed at fork): {sim(g, sl)}")
            print(f"   {name} warm (no flush):            {sim(g, sl, (parent, a))}")
        print(subprocess.run([sys.executable, os.path.join(here, 'fw_child_pages.py'), maps, sl],
                             capture_output=True, text=True).stdout)
    print(subprocess.run([sys.executable, os.path.join(here, 'fw_child_pages.py'), maps] + kids,
                         capture_output=True, text=True).stdout)
