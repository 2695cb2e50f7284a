#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for the slurm launcher's end-to-end test: munge, slurmctld
# and slurmd as root, one partition `debug` of this node. Leaves an existing /etc/slurm/slurm.conf alone
# (unless this script wrote it) and does nothing when the daemons already run.
set -euo pipefail

conf=/etc/slurm/slurm.conf
node=$(hostname -s)
if [ ! -f "$conf" ] || grep -q '^# written by intermesh scripts/slurm-local.sh' "$conf"; then
  cpus=$(nproc)
  memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) * 8 / 10240 ))
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  cat > "$conf.tmp" <<CONF
# written by intermesh scripts/slurm-local.sh: a one-node cluster for tests
ClusterName=intermesh-local
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$node CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:16
CONF
  mv "$conf.tmp" "$conf"
fi

if ! pgrep -x munged >/dev/null; then
  mkdir -p /run/munge && chown munge:munge /run/munge
  su -s /bin/sh munge -c /usr/sbin/munged
fi
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 1 30); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "setup: slurm: node $node up"
    exit 0
  fi
  sleep 1
done
echo "setup: slurm did not come up; see /var/log/slurm" >&2
exit 1
