#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine (Debian 12: Slurm 22.05, munge), for `replay sweep --slurm` tests
# and CI. Installs slurmctld, slurmd, munge and slurm-client, writes a minimal slurm.conf (this host as controller and
# only node, its real CPUs and memory from `slurmd -C`, one default partition, no accounting database), creates the
# munge key and starts munged, slurmctld and slurmd as plain daemons (no systemd here), then waits until `sinfo` shows
# the node idle. Idempotent: when the node already answers, it returns at once. Exit 1 with the reason otherwise.
set -euo pipefail

conf=/etc/slurm/slurm.conf
log=/var/log/slurm
host=$(hostname -s)

node_up() {
  command -v sinfo >/dev/null 2>&1 && timeout 10 scontrol ping >/dev/null 2>&1 \
    && [ -n "$(timeout 10 sinfo -h -N -n "$host" -o %T 2>/dev/null | grep -E '^(idle|mixed|allocated)' || true)" ]
}

if node_up; then
  echo "slurm: node $host is up"
  exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm: installing slurmctld slurmd munge slurm-client (Debian)"
  timeout 900 apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    slurmctld slurmd munge slurm-client >/dev/null
fi

# munge: one key shared by the controller and the node (the same host), daemon running as user munge.
if [ ! -s /etc/munge/munge.key ]; then
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force; \
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  pkill_pid=$(cat /run/munge/munged.pid 2>/dev/null || true)
  [ -n "$pkill_pid" ] && kill "$pkill_pid" 2>/dev/null || true
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
  munge -n | unmunge >/dev/null || { echo "slurm: munged does not answer" >&2; exit 1; }
fi

# slurm.conf: the node's line is what slurmd measures (CPUs, sockets, cores, threads, RealMemory).
node=$(slurmd -C | head -n 1 | sed -E 's/ *UpTime=.*//')
install -d /etc/slurm "$log" /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /run/slurm
cat > "$conf.new" <<CONF
# Written by tools/slurm/start-single-node.sh: one host as controller and compute node.
ClusterName=replay
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=$log/slurmctld.log
SlurmdLogFile=$log/slurmd.log
MinJobAge=300
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
mv "$conf.new" "$conf"

# (Re)start the daemons this script manages, by their pid files.
for d in slurmctld slurmd; do
  pid=$(cat "/run/slurm/$d.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; fi
done
/usr/sbin/slurmctld
for _ in $(seq 100); do timeout 5 scontrol ping >/dev/null 2>&1 && break; sleep 0.2; done
/usr/sbin/slurmd

for _ in $(seq 150); do
  if node_up; then
    echo "slurm: node $host is up ($(sinfo -h -o '%P %D %T' | head -n 1))"
    exit 0
  fi
  # A node first seen DOWN (e.g. after a restart with ReturnToService unmet) is brought back.
  state=$(sinfo -h -N -n "$host" -o %T 2>/dev/null || true)
  case "$state" in down*|drain*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;; esac
  sleep 0.2
done
echo "slurm: node $host did not become idle; see $log/slurmctld.log and $log/slurmd.log" >&2
sinfo -N -l >&2 || true
exit 1
