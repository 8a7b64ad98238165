#!/bin/bash
# measure.sh — reproduce every calibration measurement for `replay`.
# usage: ./measure.sh setup            (once: apt packages)
#        ./measure.sh [section...]   default (no argument), in this order:
#            forkwait forkwait_pinned forkwait_vg kbuild kunits sqlite caches nginx_sec latctx churn report
#        optional: kbuild_full (whole vmlinux, ~26 min on 2 shared cores), kbuild_comm (needs a built
#            tree), fw_validate (run by forkwait_vg). Heavy sections run one at a time.
# Outputs (raw perf/time/cachegrind summary lines, traces, smaps) go to out/.
set -u
cd "$(dirname "$0")"
C=$PWD; OUT=$C/out; BIN=$C/bin; SRC=$C/src
mkdir -p "$OUT" "$BIN"
SKL="--I1=524288,8,4096 --D1=262144,4,4096 --LL=6291456,12,4096"   # 128e/8w ITLB, 64e/4w DTLB, 1536e/12w STLB
NHM="--I1=262144,4,4096 --D1=262144,4,4096 --LL=2097152,4,4096"    # 64e/4w ITLB, 64e/4w DTLB, 512e/4w STLB
SKL_SIM="16:8 16:4 128:12"; NHM_SIM="16:4 16:4 128:4"              # same geometries for bin/tlbsim (sets:ways)
VGX="--run-libc-freeres=no --run-cxx-freeres=no"   # no valgrind-injected __libc_freeres at exit
SWEV=page-faults,minor-faults,major-faults,context-switches,cpu-migrations,task-clock
cg() { # cg GEOM OUTPREFIX CMD...   cachegrind TLB simulation, one out file per process
    local g=$1 o=$2; shift 2
    valgrind --tool=cachegrind --cache-sim=yes $g --trace-children=yes $VGX --cachegrind-out-file=$o.%p "$@"
}
stamp() { echo "# $(date -Is) $(uptime)"; grep '^cpu ' /proc/stat | awk '{print "# /proc/stat cpu: user="$2" nice="$3" sys="$4" idle="$5" steal="$9}'; }

setup() {
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y linux-source nginx apache2-utils flex bison libelf-dev bc wrk xz-utils sqlite3 time strace
    gcc -O2 -o $BIN/tlbsim $SRC/tlbsim.c
}

forkwait() {
    local O=$OUT/forkwait; mkdir -p $O
    gcc -O2 -o $BIN/forkwait $SRC/forkwait.c                       # the benchmark (N=40000, return 0)
    gcc -O2 -DCHILD_EXIT -o $BIN/forkwait_exit $SRC/forkwait.c     # child _exit(0)
    gcc -O2 -DPAUSE -o $BIN/forkwait_pause $SRC/forkwait.c         # SIGSTOP before loop
    gcc -O2 -DRU -o $BIN/forkwait_ru $SRC/forkwait.c               # wait4 rusage split
    gcc -O2 -DRU -DCHILD_EXIT -o $BIN/forkwait_ru_exit $SRC/forkwait.c
    for n in 3 101 201; do
        gcc -O2 -DN=$n -o $BIN/forkwait_n$n $SRC/forkwait.c
        gcc -O2 -DN=$n -DCHILD_EXIT -o $BIN/forkwait_exit_n$n $SRC/forkwait.c
    done
    gcc -O2 -DN=3 -DPAUSE -o $BIN/forkwait_pause_n3 $SRC/forkwait.c
    objdump -d --no-show-raw-insn $BIN/forkwait | awk '/<main>:/,/^$/' > $O/main.disasm
    # (a) perf stat, children inherited (default), 5 runs each
    for b in forkwait forkwait_exit; do
        { stamp; perf stat -r 5 -e $SWEV,sched:sched_process_fork,sched:sched_process_exit $BIN/$b 2>&1; stamp; } > $O/perfstat_$b.txt
    done
    # (c) parent/child split from rusage (wait4) — 3 runs each
    for b in forkwait_ru forkwait_ru_exit; do
        for r in 1 2 3; do echo "== run $r"; $BIN/$b; done > $O/rusage_$b.txt 2>&1
        for r in 1 2 3; do echo "== run $r (setarch -R: no ASLR)"; setarch -R $BIN/$b; done >> $O/rusage_$b.txt 2>&1
    done
    # (c') every page fault with its address and ip (201 iterations), per process
    for b in forkwait_n201 forkwait_exit_n201; do
        perf record -q -e page-faults -c 1 -d -o $O/$b.perf.data $BIN/$b
        perf script -i $O/$b.perf.data -F pid,tid,ip,sym,dso,addr > $O/$b.perf.script 2>/dev/null
        python3 $SRC/classify_faults.py $O/$b.perf.script > $O/$b.faults.txt
        rm -f $O/$b.perf.data
    done
    # (b) address space right before the loop
    $SRC/snap_forkwait.sh $O/pause $BIN/forkwait_pause
    python3 $SRC/smaps_summary.py $O/pause.smaps $O/pause.status > $O/pause.summary.txt
}
forkwait_pinned() { # (a') same perf stat with parent and children pinned to CPU 0 (single-CPU behaviour)
    local O=$OUT/forkwait; mkdir -p $O
    for b in forkwait forkwait_exit; do
        { stamp; perf stat -r 5 -e $SWEV,sched:sched_process_fork,sched:sched_process_exit -- taskset -c 0 $BIN/$b 2>&1; stamp; } > $O/perfstat_pinned_$b.txt
    done
}
forkwait_vg() {
    local O=$OUT/forkwait; mkdir -p $O
    gcc -O2 -o $BIN/tlbsim $SRC/tlbsim.c
    # (d) cachegrind: parent per iteration by differencing N=201 and N=101 (children's files
    #     inherit the parent's counters at fork, so children are measured with lackey below)
    for g in SKL NHM; do
        for b in forkwait_n101 forkwait_n201 forkwait_exit_n101 forkwait_exit_n201; do
            rm -rf $O/cg_${g}_$b; mkdir -p $O/cg_${g}_$b
            cg "${!g}" $O/cg_${g}_$b/cg $BIN/$b 2> $O/cg_${g}_$b.log
            # parent = lowest pid (first file)
            python3 $SRC/cgsum.py $(ls $O/cg_${g}_$b/cg.* | sort -t. -k2 -n | head -1) > $O/cg_${g}_$b.parent.txt
        done
    done
    # (d,e) lackey full trace of 3 iterations: child's own instructions, pages, and TLB sim
    rm -rf $O/lk; mkdir -p $O/lk
    for b in forkwait_n3 forkwait_exit_n3; do
        mkdir -p $O/lk/$b
        valgrind --tool=lackey $VGX --trace-mem=yes --trace-children=yes --log-file=$O/lk/$b/lk.%p $BIN/$b
    done
    # maps of the valgrind process (client layout under valgrind is deterministic) for naming pages
    valgrind --tool=lackey $VGX --log-file=$O/lk/pause.log $BIN/forkwait_pause_n3 & 
    sleep 1; for i in $(seq 200); do p=$(pgrep -f 'lackey.*forkwait_pause_n3' | head -1); \
        [ -n "$p" ] && [ "$(awk '{print $3}' /proc/$p/stat)" = T ] && break; sleep 0.1; done
    cat /proc/$p/maps > $O/lk/valgrind_client.maps; kill -CONT $p; wait
    python3 $SRC/fw_lackey_report.py $O/lk $BIN/tlbsim "$SKL_SIM" "$NHM_SIM" > $O/lk_report.txt
    fw_validate
}
fw_validate() { # tlbsim vs cachegrind on the same program (forkwait_n3 parent: lackey trace vs cachegrind)
    local O=$OUT/forkwait; local P=$(ls $O/lk/forkwait_n3/lk.* | sort -t. -k2 -n | head -1)
    for g in SKL NHM; do
        rm -rf $O/val_$g; mkdir -p $O/val_$g
        cg "${!g}" $O/val_$g/cg $BIN/forkwait_n3 2> /dev/null
        local sim=${g}_SIM
        { echo "cachegrind $g parent: $(grep summary: $(ls $O/val_$g/cg.* | sort -t. -k2 -n | head -1))   (Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw)";
          echo "tlbsim     $g parent: $($BIN/tlbsim ${!sim} < $P)"; } >> $O/tlbsim_validation.txt
    done
    # a second check with many misses: churn, 3000 regions
    gcc -O2 -o $BIN/churn $SRC/churn.c
    valgrind --tool=lackey $VGX --trace-mem=yes --log-file=$O/val_churn.lk $BIN/churn 3000 > /dev/null
    for g in SKL NHM; do
        cg "${!g}" $O/val_$g/churn $BIN/churn 3000 > /dev/null 2>&1
        local sim=${g}_SIM
        { echo "cachegrind $g churn 3000: $(grep summary: $O/val_$g/churn.*)";
          echo "tlbsim     $g churn 3000: $($BIN/tlbsim ${!sim} < $O/val_churn.lk)"; } >> $O/tlbsim_validation.txt
    done
    rm -f $O/val_churn.lk
}

kbuild() {
    local O=$OUT/kbuild; mkdir -p $O; local K=$C/linux
    [ -d $K ] || { mkdir -p $C/linux-src && tar -xJf /usr/src/linux-source-6.1.tar.xz -C $C/linux-src && mv $C/linux-src/linux-source-6.1 $K && rmdir $C/linux-src; }
    cd $K
    make mrproper > /dev/null 2>&1; make defconfig > $O/defconfig.log 2>&1
    # prepare phase (host tools, generated headers, objtool) measured separately
    stamp > $O/stamps_prepare.txt
    perf stat -o $O/perfstat_prepare.txt -e $SWEV,sched:sched_process_fork,sched:sched_process_exec -- make -j2 prepare > $O/prepare.log 2>&1
    stamp >> $O/stamps_prepare.txt
    # the measured subset: every object under kernel/ and mm/.
    # perf record of exec events (names of executed programs) wraps the perf stat of make
    stamp > $O/stamps_kernel_mm.txt
    perf record -q -e sched:sched_process_exec -o $O/exec.perf.data -- \
        perf stat -o $O/perfstat_kernel_mm.txt -e $SWEV,sched:sched_process_fork,sched:sched_process_exec -- make -j2 kernel/ mm/ > $O/build.log 2>&1
    stamp >> $O/stamps_kernel_mm.txt
    perf script -i $O/exec.perf.data -F comm,pid,event,trace 2>/dev/null | sed -E 's/.*filename=([^ ]+).*/\1/' | awk -F/ '{print $NF}' | sort | uniq -c | sort -rn > $O/execs_by_name.txt
    rm -f $O/exec.perf.data
    find kernel mm -name '*.o' | wc -l > $O/n_objects.txt
    cd $C
}

kunit_cmd() { # print the exact gcc command make used for object $1 (from its .cmd file; objtool part dropped)
    local o=$1 d=$(dirname $1) b=$(basename $1)
    head -1 $C/linux/$d/.$b.cmd | sed -E 's/^(saved)?cmd_[^ ]+ := //' | sed -E 's/ ; .*$//; s/;.*objtool.*$//'
}
kunits() {
    local O=$OUT/kunits; mkdir -p $O; local K=$C/linux
    for u in kernel/fork.o mm/memory.o kernel/sched/core.o; do
        local n=$(echo $u | tr / _ | sed 's/\.o$//')
        kunit_cmd $u > $O/$n.gcc.cmd
        head -1 $K/$(dirname $u)/.$(basename $u).cmd | sed -E 's/^(saved)?cmd_[^ ]+ := //' > $O/$n.recipe.cmd   # gcc ; objtool
        local CMD=$(cat $O/$n.gcc.cmd)
        # sub-commands (cc1, as) as the driver would run them, temp .s fixed to out/
        (cd $K && bash -c "${CMD/gcc /gcc -### }" 2> $O/$n.driver.txt)
        grep -E '^ "?/[^ ]*/cc1"? ' $O/$n.driver.txt | sed -E 's#"?/tmp/cc[^ "]*\.s"?#'$O/$n.s'#' > $O/$n.cc1.cmd
        grep -E '^ "?(/usr/bin/)?as"? ' $O/$n.driver.txt | sed -E 's#"?/tmp/cc[^ "]*\.s"?#'$O/$n.s'#' > $O/$n.as.cmd
        cd $K
        # /usr/bin/time -v of the whole gcc invocation, 3 runs
        for r in 1 2 3; do stamp; /usr/bin/time -v bash -c "exec $CMD"; done > $O/$n.time.txt 2>&1
        # perf stat whole invocation / cc1 only / as only (3 runs each)
        perf stat -r 3 -o $O/$n.perf_gcc.txt -e $SWEV,sched:sched_process_fork,sched:sched_process_exec -- bash -c "exec $CMD"
        perf stat -r 3 -o $O/$n.perf_cc1.txt -e $SWEV -- bash -c "exec $(cat $O/$n.cc1.cmd)"
        perf stat -r 3 -o $O/$n.perf_as.txt -e $SWEV -- bash -c "exec $(cat $O/$n.as.cmd)"
        # the whole make recipe for this object (sh -c 'gcc ...; objtool ...'), as make runs it
        perf stat -r 3 -o $O/$n.perf_recipe.txt -e $SWEV,sched:sched_process_fork,sched:sched_process_exec -- sh -c "$(cat $O/$n.recipe.cmd)"
        # VMAs of cc1 near its RSS peak (native run)
        python3 $SRC/peak_smaps.py cc1 $O/$n.cc1peak $K -- "$CMD" > $O/$n.cc1peak.log 2>&1
        python3 $SRC/smaps_summary.py $O/$n.cc1peak.smaps $O/$n.cc1peak.status > $O/$n.cc1peak.summary.txt
        # cachegrind TLB sim, both geometries, every process of the invocation
        for g in SKL NHM; do
            rm -rf $O/cg_${g}_$n; mkdir -p $O/cg_${g}_$n
            cg "${!g}" $O/cg_${g}_$n/cg bash -c "exec $CMD" 2> $O/cg_${g}_$n.log
            python3 $SRC/cgsum.py $O/cg_${g}_$n/cg.* > $O/cg_${g}_$n.summary.txt
        done
        cd $C
    done
}

SQ_ROWS=3200000
sq_pre() { # common prologue: big private cache, no mmap, warm with a full scan
    cat <<EOS
PRAGMA cache_size=-400000;
PRAGMA mmap_size=0;
.output /dev/null
SELECT sum(length(b)), sum(a) FROM t;
EOS
}
sq_cte() { # $1 = N lookups; $2 = 1 with lookup, 0 = same CTE without the lookup (overhead)
    sq_pre
    if [ $2 = 1 ]; then
        echo "WITH RECURSIVE r(i,k) AS (SELECT 0, 12345 UNION ALL SELECT i+1, (k*1103515245+12345) % 2147483648 FROM r WHERE i < $1) SELECT sum((SELECT a FROM t WHERE id = 1 + k % $SQ_ROWS)) FROM r;"
    else
        echo "WITH RECURSIVE r(i,k) AS (SELECT 0, 12345 UNION ALL SELECT i+1, (k*1103515245+12345) % 2147483648 FROM r WHERE i < $1) SELECT sum(1 + k % $SQ_ROWS) FROM r;"
    fi
}
sq_stmts() { # $1 = N separate statements, keys from Python's random.Random(42)
    sq_pre
    python3 -c "
import random; r = random.Random(42)
for _ in range($1): print('SELECT a FROM t WHERE id=%d;' % r.randint(1, $SQ_ROWS))"
}
sqlite() {
    local O=$OUT/sqlite; mkdir -p $O $C/db; local DB=$C/db/bench.db
    if [ ! -f $DB ]; then
        sqlite3 $DB <<EOS
PRAGMA page_size=4096; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT NOT NULL);
INSERT INTO t SELECT value, (value*2654435761) % 4294967296, printf('%064d', (value*40503) % 1000000007) FROM generate_series(1, $SQ_ROWS);
EOS
    fi
    { ls -l $DB; sqlite3 $DB 'PRAGMA page_count; PRAGMA page_size; SELECT count(*) FROM t;'; } > $O/db_info.txt
    # scripts
    sq_pre > $O/base.sql
    sq_cte 2000000 1 > $O/cte_2M.sql;    sq_cte 2000000 0 > $O/cte0_2M.sql
    sq_cte 200000 1 > $O/cte_200k.sql;   sq_cte 200000 0 > $O/cte0_200k.sql
    sq_stmts 500000 > $O/stmt_500k.sql;  sq_stmts 100000 > $O/stmt_100k.sql
    cat $DB > /dev/null   # OS page cache warm
    # perf stat (3 runs each) and /usr/bin/time -v (max RSS)
    for s in base cte_2M cte0_2M stmt_500k; do
        stamp > $O/stamp_$s.txt
        perf stat -r 3 -o $O/perf_$s.txt -e $SWEV -- sh -c "sqlite3 $DB < $O/$s.sql"
        /usr/bin/time -v sqlite3 $DB < $O/$s.sql > /dev/null 2> $O/time_$s.txt
    done
    # cachegrind, both geometries: base / CTE lookups / CTE without lookups / statements
    for g in SKL NHM; do
        for s in base cte_200k cte0_200k stmt_100k; do
            valgrind --tool=cachegrind --cache-sim=yes ${!g} $VGX --cachegrind-out-file=$O/cg_${g}_$s.out sqlite3 $DB < $O/$s.sql > /dev/null 2> $O/cg_${g}_$s.log
            python3 $SRC/cgsum.py $O/cg_${g}_$s.out > $O/cg_${g}_$s.summary.txt
        done
    done
}

NGX_PORT=8089
ngx_conf() { # $1 = dir
    mkdir -p $1/www $1/tmp
    head -c 1024 /usr/share/common-licenses/GPL-3 > $1/www/index.html   # fixed 1 KiB static file
    cat > $1/nginx.conf <<EOC
worker_processes 1;
error_log $1/error.log;
pid $1/nginx.pid;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log $1/access.log;
    sendfile on;
    keepalive_timeout 65;
    client_body_temp_path $1/tmp; proxy_temp_path $1/tmp; fastcgi_temp_path $1/tmp; uwsgi_temp_path $1/tmp; scgi_temp_path $1/tmp;
    server { listen 127.0.0.1:$NGX_PORT; root $1/www; }
}
EOC
}
ngx_wait() { for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:$NGX_PORT/index.html 2>/dev/null && return 0; \
             ab -q -n 1 http://127.0.0.1:$NGX_PORT/index.html >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
nginx_sec() {
    local O=$OUT/nginx; mkdir -p $O; ngx_conf $O
    local NG="nginx -c $O/nginx.conf -g daemon\ off;\ master_process\ off;"
    # native: perf stat -p on the single nginx process while ab runs
    for mode in close keepalive; do
        local KA=""; [ $mode = keepalive ] && KA=-k
        for r in 1 2 3; do
            nginx -c $O/nginx.conf -g 'daemon off; master_process off;' & local np=$!
            ngx_wait; stamp > $O/stamp_${mode}_$r.txt
            perf stat -o $O/perf_${mode}_$r.txt -e $SWEV -p $np -- ab $KA -n 20000 -c 1 http://127.0.0.1:$NGX_PORT/index.html > $O/ab_${mode}_$r.txt 2>&1
            kill -QUIT $np; wait $np
        done
    done
    # cachegrind: 0 requests (startup+shutdown) vs N requests; per request = difference / N
    for g in SKL NHM; do
        for mode in close keepalive; do
            local KA=""; [ $mode = keepalive ] && KA=-k
            for n in 0 4000; do
                rm -f $O/cg_${g}_${mode}_$n.out.*
                valgrind --tool=cachegrind --cache-sim=yes ${!g} $VGX --cachegrind-out-file=$O/cg_${g}_${mode}_$n.out.%p \
                    nginx -c $O/nginx.conf -g 'daemon off; master_process off;' 2> $O/cg_${g}_${mode}_$n.log & local vp=$!
                sleep 2; for i in $(seq 100); do ab -q -n 1 http://127.0.0.1:$NGX_PORT/index.html >/dev/null 2>&1 && break; sleep 0.5; done
                # the probe above was 1 request; count it: total requests = n + 1
                [ $n -gt 0 ] && ab $KA -n $n -c 1 http://127.0.0.1:$NGX_PORT/index.html > $O/cg_ab_${g}_${mode}_$n.txt 2>&1
                # graceful stop; re-send QUIT if valgrind dropped it (seen once)
                for i in $(seq 30); do kill -QUIT $vp 2>/dev/null || break; sleep 2; kill -0 $vp 2>/dev/null || break; done; wait $vp
                python3 $SRC/cgsum.py $O/cg_${g}_${mode}_$n.out.* > $O/cg_${g}_${mode}_$n.summary.txt
            done
        done
    done
}
latctx() {
    local O=$OUT/latctx; mkdir -p $O
    gcc -O2 -o $BIN/pingpong $SRC/pingpong.c
    for pin in free cpu0; do
        local TS=""; [ $pin = cpu0 ] && TS="taskset -c 0"
        stamp > $O/stamp_$pin.txt
        perf stat -r 3 -o $O/perf_$pin.txt -e $SWEV -- $TS $BIN/pingpong 200000 > $O/run_$pin.txt 2>&1
        for r in 1 2 3; do $TS $BIN/pingpong 200000; done >> $O/run_$pin.txt 2>&1
    done
    strace -f -c -o $O/strace_c.txt $BIN/pingpong 1000 > /dev/null
    for g in SKL NHM; do
        for n in 20000 40000; do
            rm -rf $O/cg_${g}_$n; mkdir -p $O/cg_${g}_$n
            cg "${!g}" $O/cg_${g}_$n/cg $BIN/pingpong $n > /dev/null 2> $O/cg_${g}_$n.log
            python3 $SRC/cgsum.py $O/cg_${g}_$n/cg.* > $O/cg_${g}_$n.summary.txt
        done
    done
}
churn() {
    local O=$OUT/churn; mkdir -p $O
    gcc -O2 -o $BIN/churn $SRC/churn.c
    stamp > $O/stamp.txt
    perf stat -r 3 -o $O/perf_200k.txt -e $SWEV -- $BIN/churn 200000 > $O/run_200k.txt 2>&1
    perf stat -r 3 -o $O/perf_0.txt -e $SWEV -- $BIN/churn 0 > $O/run_0.txt 2>&1
    for g in SKL NHM; do
        for n in 0 10000 20000; do
            cg "${!g}" $O/cg_${g}_$n.out $BIN/churn $n > $O/cg_run_${g}_$n.txt 2> $O/cg_${g}_$n.log
            python3 $SRC/cgsum.py $O/cg_${g}_$n.out.* > $O/cg_${g}_$n.summary.txt
        done
    done
}

CACHE="--I1=32768,8,64 --D1=32768,8,64 --LL=8388608,16,64"   # 32 KiB/8w L1I+L1D, 8 MiB/16w LLC, 64 B lines
caches() { # cache misses per kilo-instruction of the unlisted work (replay.guest.cache_pressure)
    local O=$OUT/cache; mkdir -p $O; local K=$C/linux
    # cc1 compiling kernel/fork.c, every process of the gcc invocation (needs the kbuild tree and kunits)
    (cd $K && cg "$CACHE" $O/cc1_fork bash -c "exec $(cat $OUT/kunits/kernel_fork.gcc.cmd)" 2> $O/cc1_fork.log)
    python3 $SRC/cgsum.py --cache $O/cc1_fork.[0-9]* > $O/cc1_fork.summary.txt
    # sqlite: 200k random primary-key lookups, and the same CTE without the lookup (difference = lookups)
    for s in cte_200k cte0_200k; do
        valgrind --tool=cachegrind --cache-sim=yes $CACHE $VGX --cachegrind-out-file=$O/sqlite_$s.cg \
            sqlite3 $C/db/bench.db < $OUT/sqlite/$s.sql > /dev/null 2> $O/sqlite_$s.log
        python3 $SRC/cgsum.py --cache $O/sqlite_$s.cg > $O/sqlite_$s.summary.txt
    done
}


kbuild_full() { # optional: the whole vmlinux from clean (about 25-40 min on 2 shared cores)
    local O=$OUT/kbuild_full; mkdir -p $O; local K=$C/linux
    cd $K
    make clean > /dev/null 2>&1
    stamp > $O/stamps_prepare.txt
    perf stat -o $O/perfstat_prepare.txt -e $SWEV,sched:sched_process_fork,sched:sched_process_exec -- make -j2 prepare > $O/prepare.log 2>&1
    stamp >> $O/stamps_prepare.txt
    stamp > $O/stamps_vmlinux.txt
    perf record -q -e sched:sched_process_exec -o $O/exec.perf.data -- \
        perf stat -o $O/perfstat_vmlinux.txt -e $SWEV,sched:sched_process_fork,sched:sched_process_exec -- make -j2 vmlinux > $O/build.log 2>&1
    stamp >> $O/stamps_vmlinux.txt
    perf script -i $O/exec.perf.data -F comm,pid,event,trace 2>/dev/null | sed -E 's/.*filename=([^ ]+).*/\1/' | awk -F/ '{print $NF}' | sort | uniq -c | sort -rn > $O/execs_by_name.txt
    rm -f $O/exec.perf.data
    find . -name '*.o' | wc -l > $O/n_objects.txt; ls -l vmlinux >> $O/n_objects.txt
    cd $C
}


report() { # derived numbers used in RESULTS.md
    python3 $SRC/kunits_report.py $OUT/kunits > $OUT/kunits_report.txt
    for u in kernel_fork mm_memory kernel_sched_core; do
        python3 $SRC/cc1_vma_classes.py $OUT/kunits/$u.cc1peak.smaps > $OUT/kunits/$u.cc1peak.classes.txt
    done
    python3 $SRC/derive.py $OUT > $OUT/derived.txt
}


kbuild_comm() { # CPU time and page faults of the kernel/ mm/ build split by program (comm), sampled
    local O=$OUT/kbuild_comm; mkdir -p $O; local K=$C/linux
    cd $K
    find kernel mm -name '*.o' -delete; find kernel mm -name '*.a' -delete
    stamp > $O/stamps.txt
    perf record -q -o $O/comm.perf.data -e task-clock/period=1000000/ -e page-faults/period=100/ -- make -j2 kernel/ mm/ > $O/build.log 2>&1
    stamp >> $O/stamps.txt
    perf report -i $O/comm.perf.data --stdio --sort comm 2>/dev/null | grep -v '^$' > $O/by_comm.txt   # both events
    rm -f $O/comm.perf.data
    cd $C
}

#### MAIN (keep at end)
ALL="forkwait forkwait_pinned forkwait_vg kbuild kunits sqlite caches nginx_sec latctx churn report"
for s in ${@:-$ALL}; do echo "######## section $s $(date -Is)"; $s; done
