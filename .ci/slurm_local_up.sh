#!/usr/bin/env bash
# slurm_local_up.sh - single-node SLURM "cluster" on localhost, from nothing (tests/test_slurm.py uses it;
# recipe and traps: shared notes SLURM_LOCAL.md, summary in docs/cluster.md).
# Tested on Debian 12 (slurm-wlm 22.05.8, munge 0.5.15, mariadb 10.11), as root, without systemd.
#
#   sudo bash .ci/slurm_local_up.sh              # accounting off -> snakemake needs slurm-status-command: squeue
#   sudo WITH_DBD=1 bash .ci/slurm_local_up.sh   # + mariadb + slurmdbd -> sacct works (plugin default)
#   sudo bash .ci/slurm_local_down.sh --purge    # stop the daemons again, remove config and state
#
# Env knobs: WITH_DBD=0|1  PARTITIONS="debug" (space-separated; all contain the one node, first is default)
#            NGPUS=1 (fake GPUs, all mapped to /dev/null; 0 = no GRES)
#            GPU_TYPE=a100 (optional: typed GRES, so that gpu_model / --gpus=a100:1 is accepted too)
#            NODE_CPUS=32 NODE_MEM_MB=256000 (optional: advertise a bigger node than the runner has, via
#              SlurmdParameters=config_overrides, so a production profile's cpus/mem requests are accepted)
#            SLURM_ACCOUNTS="ci" SLURM_USERS="root $SUDO_USER"  (DBD mode only: accounts to create, users
#              to put into each of them; with DBD the plugin rejects a slurm_account that does not exist)
# PIDs of every daemon started here go to /run/slurm-local/*.pid; slurm_local_down.sh stops exactly those.
set -euo pipefail
WITH_DBD=${WITH_DBD:-0}
PARTITIONS=${PARTITIONS:-debug}
NGPUS=${NGPUS:-1}
GPU_TYPE=${GPU_TYPE:-}
NODE_CPUS=${NODE_CPUS:-}
NODE_MEM_MB=${NODE_MEM_MB:-}
SLURM_ACCOUNTS=${SLURM_ACCOUNTS:-ci}
SLURM_USERS=${SLURM_USERS:-"root ${SUDO_USER:-}"}
STATE=/run/slurm-local
LOG=/var/log/slurm
mkdir -p "$STATE" "$LOG" /run/slurm /etc/slurm /var/spool/slurmctld /var/spool/slurmd
die() { echo "[up] ERROR: $*" >&2; tail -n 20 "$LOG"/*.log >&2 2>/dev/null || true; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t0=$(now)

# daemons left over from an earlier run (e.g. a killed test): stop them first
for f in "$STATE"/*.pid; do
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && { bash "$(dirname "$0")/slurm_local_down.sh"; break; }
done

# ---- 1. packages -----------------------------------------------------------------
pkgs="slurmctld slurmd slurm-client munge"
[ "$WITH_DBD" = 1 ] && pkgs="$pkgs slurmdbd mariadb-server"
missing=""; for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  timeout 300 apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || die "apt-get install$missing failed"
  echo "[up] installed$missing in $(since "$t0")s"
fi
t1=$(now); echo "[up] packages ready in $(since "$t0")s"

# ---- 2. munge (the Debian postinst already created /etc/munge/munge.key) ---------------
[ -s /etc/munge/munge.key ] || mungekey --create
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge; chmod 755 /run/munge
if ! munge -n </dev/null >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged || die "munged failed"   # forks into background itself
  for i in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n </dev/null >/dev/null 2>&1 || die "munged did not start"
  cp /run/munge/munged.pid "$STATE/munged.pid"
fi

# ---- 3. slurm.conf / gres.conf ----------------------------------------------------------
# node geometry from `slurmd -C`, minus 512 MB of RealMemory as slack
geom=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //')
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$geom")
[ "$mem" -gt 2048 ] && mem=$((mem - 512))
geom=$(sed -e "s/RealMemory=[0-9]*/RealMemory=$mem/" <<<"$geom")
OVERRIDE=""
if [ -n "$NODE_CPUS$NODE_MEM_MB" ]; then     # fake node size; slurmd then trusts slurm.conf, not the hardware
  geom="CPUs=${NODE_CPUS:-$(nproc)} RealMemory=${NODE_MEM_MB:-$mem}"
  OVERRIDE="SlurmdParameters=config_overrides"
fi

if [ "$WITH_DBD" = 1 ]; then
  ACCT="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux"
else
  # AccountingStorageTRES=gres/gpu would be FATAL here ("slurmdbd is required to run with TRES gres/gpu")
  ACCT="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi
GRES_NODE=""; GRES_TYPES=""
if [ "$NGPUS" -gt 0 ]; then GRES_NODE="Gres=gpu:${GPU_TYPE:+$GPU_TYPE:}$NGPUS"; GRES_TYPES="GresTypes=gpu"; fi

cat > /etc/slurm/slurm.conf <<EOF
ClusterName=localcluster
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
$OVERRIDE
$GRES_TYPES
$ACCT
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 $geom $GRES_NODE State=UNKNOWN
EOF
def=YES; for p in $PARTITIONS; do
  echo "PartitionName=$p Nodes=localhost Default=$def MaxTime=INFINITE State=UP" >> /etc/slurm/slurm.conf; def=NO
done

# fake GPUs: one File= per GPU; names must differ ("gpu duplicate device file name" is fatal), so use
# symlinks to /dev/null. No cgroups => nothing is ever opened; slurm only sets CUDA_VISIBLE_DEVICES etc.
rm -rf /run/slurm-fakegpu; mkdir -p /run/slurm-fakegpu
{ echo "AutoDetect=off"
  for i in $(seq 0 $((NGPUS - 1))); do
    ln -s /dev/null /run/slurm-fakegpu/gpu$i
    echo "NodeName=localhost Name=gpu ${GPU_TYPE:+Type=$GPU_TYPE }File=/run/slurm-fakegpu/gpu$i"
  done
} > /etc/slurm/gres.conf

# ---- 4. optional: mariadb + slurmdbd -------------------------------------------------------
if [ "$WITH_DBD" = 1 ]; then
  mkdir -p /run/mysqld; chown mysql:mysql /run/mysqld
  if ! mysqladmin ping >/dev/null 2>&1; then
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    setsid /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
      --pid-file=/run/mysqld/mysqld.pid --bind-address=127.0.0.1 --innodb-buffer-pool-size=128M \
      >"$LOG/mariadb.log" 2>&1 </dev/null &
    echo $! > "$STATE/mariadbd.pid"
    for i in $(seq 150); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.2; done
    mysqladmin ping >/dev/null 2>&1 || die "mariadbd did not start"
  fi
  mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  cat > /etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile=/run/slurm/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmpw
EOF
  chmod 600 /etc/slurm/slurmdbd.conf              # slurmdbd refuses a world-readable config
  rm -f /run/slurm/slurmdbd.pid
  /usr/sbin/slurmdbd || die "slurmdbd failed"     # forks into background
  for i in $(seq 100); do timeout 5 sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
  timeout 5 sacctmgr -n list cluster >/dev/null 2>&1 || die "slurmdbd did not start"
  cp /run/slurm/slurmdbd.pid "$STATE/slurmdbd.pid"
  # the cluster must exist in the DB before slurmctld registers
  sacctmgr -n -P list cluster format=cluster | grep -qx localcluster || sacctmgr -i add cluster localcluster >/dev/null
fi

# ---- 5. slurmctld + slurmd -------------------------------------------------------------
rm -f /run/slurm/slurmctld.pid /run/slurm/slurmd.pid
/usr/sbin/slurmctld -i || die "slurmctld failed"  # forks; -i = ignore unreadable/missing state files
ok=0; for i in $(seq 100); do
  timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP' && { ok=1; break; }
  [ -s /run/slurm/slurmctld.pid ] && ! kill -0 "$(cat /run/slurm/slurmctld.pid)" 2>/dev/null && break
  sleep 0.1; done
[ "$ok" = 1 ] || die "slurmctld did not come up"
cp /run/slurm/slurmctld.pid "$STATE/slurmctld.pid"
/usr/sbin/slurmd -N localhost || die "slurmd failed"  # -N: NodeName is 'localhost', not $(hostname)
ok=0; for i in $(seq 100); do
  timeout 5 sinfo -h -n localhost -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && { ok=1; break; }
  sleep 0.1; done
[ -s /run/slurm/slurmd.pid ] && cp /run/slurm/slurmd.pid "$STATE/slurmd.pid"
[ "$ok" = 1 ] || die "node 'localhost' did not become idle"

if [ "$WITH_DBD" = 1 ]; then
  first=${SLURM_ACCOUNTS%% *}
  for a in $SLURM_ACCOUNTS; do
    sacctmgr -n -P list account format=account | grep -qx "$a" || sacctmgr -i add account "$a" Cluster=localcluster >/dev/null
    for u in $SLURM_USERS; do
      sacctmgr -n -P list assoc user="$u" account="$a" format=user | grep -qx "$u" \
        || sacctmgr -i add user "$u" Account="$a" DefaultAccount="$first" >/dev/null
    done
  done
fi
echo "[up] daemons ready in $(since "$t1")s (total $(since "$t0")s)"
timeout 10 sinfo
