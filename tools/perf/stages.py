# stages.py PERF_DATA FREQ EVENTS: CPU ns per trace event by stage, from a cpu-clock perf recording of every thread
# (tools/perf/stages.sh makes one). A sample is 1/FREQ s of CPU; it goes to the stage of the method it landed in.
# The runtime's stage includes the writing of the perf map itself (a fixed cost: compare runs of one trace length).
import sys, re, subprocess, collections
data, freq, events = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
out = subprocess.run(["perf","report","-i",data,"--no-children","-g","none","--sort","dso,sym","-F","sample,dso,sym","--stdio"],capture_output=True,text=True).stdout
rules = [("cache model (Caches)", r"Replay\.Engines\.Caches\."),
 ("TLB + paging-structure caches", r"Replay\.Engines\.Tlb\."),
 ("guest walk (PageWalker, HardwareMmu, GuestMemory)", r"Replay\.Engines\.Guest\."),
 ("shadow-cached engine (shadow walk, exits)", r"ShadowCached"),
 ("native/other engines", r"Replay\.Engines\.(Native|ShadowFlush|WritablePt|Ept|Agile|Hybrid)"),
 ("replay loop", r"ReplayLoop"),
 ("check + segmentize", r"TraceChecker|ReplayDriver"),
 ("decode (zstd, pages, columns)", r"ZstdSharp|Parquet|Replay\.TraceIO\.|Snappier|K4os|SpanHelpers"),
 ("reports", r"Replay\.Analysis"),
 ("JIT", r"libclrjit"),
 ("runtime (type loads, GC, stubs)", r"libcoreclr|ld-linux|libc\.so|CoreLib|System\.|stub"),
 ("kernel", r"kernel"),
]
b = collections.Counter(); tot = 0
for line in out.splitlines():
    m = re.match(r"\s*(\d+)\s+(.*)", line)
    if not m or line.startswith("#"): continue
    n = int(m.group(1)); rest = m.group(2); tot += n
    cm = re.search(r"\] ([\w.`+]+)::", rest); key = cm.group(1) if cm else rest
    for name, pat in rules:
        if re.search(pat, key): b[name] += n; break
    else: b["other"] += n
print(f"{tot/freq:.2f} s CPU sampled, {tot/freq/events*1e9:.0f} ns/event")
for k, v in b.most_common(): print(f"  {k:52s} {v/freq/events*1e9:6.0f} ns/event  {100*v/tot:5.1f}%")
