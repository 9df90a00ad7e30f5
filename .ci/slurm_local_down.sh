#!/usr/bin/env bash
# slurm_local_down.sh - stop exactly the daemons that slurm_local_up.sh started (by recorded PID).
#   sudo bash .ci/slurm_local_down.sh                 # stop daemons, keep state/config
#   sudo bash .ci/slurm_local_down.sh --purge         # + drop accounting DB, wipe spool/log/config files
#   sudo bash .ci/slurm_local_down.sh --purge --uninstall   # + apt-get purge the packages
# Always --purge when done: a leftover /etc/slurm/slurm.conf without a running slurmctld makes every
# `snakemake` call wait ~9 s (the slurm plugin runs `scontrol show config` when it loads).
set -u
STATE=/run/slurm-local
PURGE=0; UNINSTALL=0
for a in "$@"; do case $a in --purge) PURGE=1;; --uninstall) UNINSTALL=1;; esac; done

stop_pid() {   # name pidfile
  local name=$1 f=$2 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # slurmd ignores TERM while it is stuck retrying to register with a dead slurmctld
    if kill -0 "$pid" 2>/dev/null; then echo "[down] $name ($pid) ignored TERM, sending KILL"; kill -KILL "$pid"; fi
  fi
  echo "[down] stopped $name ($pid)"; rm -f "$f"
}

if [ -s "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null; then
  ids=$(timeout 10 squeue -h -o %i 2>/dev/null); [ -n "$ids" ] && timeout 10 scancel $ids
fi
if [ "$PURGE" = 1 ] && [ -s "$STATE/mariadbd.pid" ]; then
  mysql -e "DROP DATABASE IF EXISTS slurm_acct_db; DROP USER IF EXISTS 'slurm'@'localhost';" 2>/dev/null || true
fi
# reverse start order: slurmd before slurmctld (slurmd talks to slurmctld on exit)
for d in slurmd slurmctld slurmdbd mariadbd munged; do stop_pid "$d" "$STATE/$d.pid"; done

if [ "$PURGE" = 1 ]; then
  rm -rf /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm /run/slurm-fakegpu \
         /etc/slurm/slurm.conf /etc/slurm/gres.conf /etc/slurm/slurmdbd.conf
  echo "[down] purged slurm state, logs and configs"
fi
if [ "$UNINSTALL" = 1 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq slurmctld slurmd slurm-client slurmdbd munge \
      mariadb-server >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq >/dev/null 2>&1 || true
  rm -rf /var/lib/mysql /etc/munge /var/lib/munge /var/log/munge /run/munge /run/mysqld
  echo "[down] packages purged"
fi
