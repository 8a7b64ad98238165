# stages.py PERF_DATA FREQ EVENTS: CPU ns per trace event by stage, from a cpu-clock perf recording of every thread
# (tools/perf/stages.sh makes one). A sample is 1/FREQ s of CPU; it goes to the stage of the method it landed in.
# The runtime's stage includes the writing of the perf map itself (a fixed cost: compare runs of one trace length).
# Then the same CPU by thread: the engine threads (".NET Long Running Task", one per engine), the thread pool (the
# row-group decoder, the checks and the hash), the background JIT (".NET Tiered Compilation": tier-1 recompiles),
# and the main thread (start-up, option parsing, the reports written at the end), each split into its own code,
# the JIT (libclrjit) and the runtime (libcoreclr, libc): where JIT and runtime time is spent, and whether it grows
# with the trace (engine and pool threads) or is paid once per process (main, tiered compilation).
import sys, re, subprocess, collections
data, freq, events = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
out = subprocess.run(["perf","report","-i",data,"--no-children","-g","none","--sort","dso,sym","-F","sample,dso,sym","--stdio"],capture_output=True,text=True).stdout
rules = [("cache model (Caches)", r"Replay\.Engines\.Caches\."),
 ("TLB + paging-structure caches", r"Replay\.Engines\.Tlb\."),
 ("guest walk (PageWalker, HardwareMmu, GuestMemory)", r"Replay\.Engines\.Guest\."),
 ("shadow machinery (Parts: shadow walk, exits; ShadowCached)", r"ShadowCached|Replay\.Engines\.Parts\."),
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

out = subprocess.run(["perf","report","-i",data,"--no-children","-g","none","--sort","comm,dso","-F","sample,comm,dso","--stdio"],capture_output=True,text=True).stdout
names = [("engine threads", ".NET Long Runni"), ("thread pool (decode, checks, hash)", ".NET TP Worker"),
 ("background JIT thread (tier-1)", ".NET Tiered Com"), ("main thread (start-up, reports)", "dotnet")]
t = collections.defaultdict(collections.Counter)
for line in out.splitlines():
    m = re.match(r"\s*(\d+)\s+(.+?)\s{2,}(\S.*?)\s*$", line)
    if not m or line.startswith("#"): continue
    n, comm, dso = int(m.group(1)), m.group(2).strip(), m.group(3)
    who = next((k for k, c in names if comm.startswith(c)), "other threads")
    kind = "JIT" if "libclrjit" in dso else "runtime" if re.search(r"libcoreclr|ld-linux|libc\.so|libstdc", dso) else "kernel" if "kernel" in dso else "code"
    t[who][kind] += n
print("by thread (ns/event: all = code + JIT + runtime + kernel):")
for who, c in sorted(t.items(), key=lambda x: -sum(x[1].values())):
    ns = lambda k: c[k] / freq / events * 1e9
    print(f"  {who:52s} {sum(c.values())/freq/events*1e9:6.0f} = {ns('code'):4.0f} + {ns('JIT'):4.0f} + {ns('runtime'):4.0f} + {ns('kernel'):4.0f}")
