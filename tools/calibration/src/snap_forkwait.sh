#!/bin/bash
# start forkwait_pause (SIGSTOPs itself right before the loop), snapshot smaps/status/pagemap-derived info, resume
out=$1; bin=$2
$bin & pid=$!
for i in $(seq 100); do st=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null); [ "$st" = T ] && break; sleep 0.05; done
cat /proc/$pid/smaps > $out.smaps; cat /proc/$pid/status > $out.status; cat /proc/$pid/maps > $out.maps
kill -CONT $pid; wait $pid; echo "exit=$?"
