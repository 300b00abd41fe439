#!/usr/bin/env bash
# A one-machine SLURM cluster for the `slurm` tests: a controller, one node (this machine's cores and memory),
# accounting (slurmdbd on a private MariaDB, so `sacct` answers) and a private munged, all in one folder.
#
#   eval "$(tests/slurm/cluster.sh start)"   # installs what is missing, starts, waits for an idle node,
#                                            # prints `export SLURM_CONF=<its slurm.conf>`
#   python -m pytest -m slurm
#   tests/slurm/cluster.sh stop              # cancels its jobs, stops its daemons (by their pid files)
#   tests/slurm/cluster.sh status
#
# Everything lives under $ATTENTION_NMT_SLURM_DIR (default /var/tmp/attention-nmt-slurm): configs, state, logs,
# the munge key and socket, the database. Nothing is written to /etc, an existing cluster's daemons and config are
# never touched (this one listens on its own ports, 16817-16820), and a second `start` reuses the running cluster.
# Root is needed: apt-get, and slurmd runs jobs as their user. Debian/Ubuntu (slurm-wlm 22.05 tested).
# No cgroups: proctrack/linuxproc and task/none, which run in containers.
set -euo pipefail

DIR=${ATTENTION_NMT_SLURM_DIR:-/var/tmp/attention-nmt-slurm}
CONF=$DIR/etc/slurm.conf
MARK="# written by attention-nmt tests/slurm/cluster.sh"
CLUSTER=attnmt
NODE=localhost
CTLD_PORT=16817 SLURMD_PORT=16818 DBD_PORT=16819 DB_PORT=16820
MUNGE_SOCKET=$DIR/run/munge.socket
DB_SOCKET=$DIR/run/mariadb.socket
export SLURM_CONF=$CONF

say() { echo "cluster.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# pid of a daemon we started, if it is still running (its pid file, and /proc agrees it is that program)
alive() {
  local pidfile=$DIR/run/$1.pid pid
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$1" && echo "$pid"
}

wait_for() {  # wait_for <seconds> <what> <command...>: until the command succeeds
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "$what not ready after ${seconds}s (logs: $DIR/log)"
}

install_missing() {
  local missing=()
  command -v munged >/dev/null || missing+=(munge)
  command -v slurmctld >/dev/null || missing+=(slurmctld)
  command -v slurmd >/dev/null || missing+=(slurmd)
  command -v sbatch >/dev/null || missing+=(slurm-client)
  command -v slurmdbd >/dev/null || missing+=(slurmdbd)
  command -v mariadbd >/dev/null || missing+=(mariadb-server)
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  apt-get update -qq
  # the packages' own services are not started here (no systemd in containers; this cluster runs its own)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

write_configs() {
  if [[ -e $CONF ]] && ! grep -qxF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script; refusing to touch it (set ATTENTION_NMT_SLURM_DIR)"
  fi
  mkdir -p "$DIR"/{etc,run,log,state,spool,munge,db}
  chmod 700 "$DIR/munge"
  [[ -s $DIR/munge/munge.key ]] || (umask 077 && head -c 1024 /dev/urandom >"$DIR/munge/munge.key")
  # this machine's cores, sockets and memory as slurmd sees them, so the node is never drained as "invalid"
  local hardware
  hardware=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //')
  cat >"$CONF" <<EOF
$MARK
ClusterName=$CLUSTER
SlurmctldHost=$NODE
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$MUNGE_SOCKET
JobCompType=jobcomp/none
NodeName=$NODE NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  # slurmdbd reads slurmdbd.conf next to slurm.conf; it must be private to SlurmUser
  (umask 077 && cat >"$DIR/etc/slurmdbd.conf" <<EOF
$MARK
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
  )
}

start_munge() {
  alive munged >/dev/null && return 0
  munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/run/munged.pid" \
    --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
  wait_for 20 munged timeout 10 munge --socket="$MUNGE_SOCKET" -n
}

db() { mariadb --socket="$DB_SOCKET" -u root "$@"; }

start_database() {
  alive mariadbd >/dev/null && return 0
  if [[ ! -d $DIR/db/mysql ]]; then
    mariadb-install-db --user=root --datadir="$DIR/db" --auth-root-authentication-method=socket >"$DIR/log/mariadb-install.log" 2>&1
  fi
  mariadbd --user=root --datadir="$DIR/db" --socket="$DB_SOCKET" --port=$DB_PORT --bind-address=127.0.0.1 \
    --pid-file="$DIR/run/mariadbd.pid" --log-error="$DIR/log/mariadb.log" --innodb-buffer-pool-size=32M \
    >/dev/null 2>&1 &
  wait_for 60 MariaDB timeout 10 mariadb --socket="$DB_SOCKET" -u root -e "SELECT 1"
  db -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
         GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
}

start_slurm() {
  if ! alive slurmdbd >/dev/null; then
    slurmdbd
    wait_for 60 slurmdbd timeout 10 sacctmgr -n list cluster
  fi
  sacctmgr -n list cluster format=cluster | grep -qw $CLUSTER || sacctmgr -i add cluster $CLUSTER >/dev/null
  alive slurmctld >/dev/null || slurmctld
  wait_for 60 slurmctld timeout 10 scontrol ping
  alive slurmd >/dev/null || slurmd -N $NODE
  wait_for 90 "node $NODE (idle)" node_idle
}

node_idle() { [[ $(timeout 10 sinfo -h -n $NODE -o %t) == idle* ]]; }

start() {
  [[ $(id -u) == 0 ]] || die "needs root (apt-get, and slurmd runs jobs as their submitting user)"
  install_missing
  write_configs
  start_munge
  start_database
  start_slurm
  say "SLURM $(sinfo --version | cut -d' ' -f2) cluster $CLUSTER up: $(sinfo -h -o '%P %D node(s) %c CPUs %m MB %t')"
  echo "export SLURM_CONF=$CONF"
}

stop() {
  if alive slurmctld >/dev/null; then  # its own jobs only: this controller knows no others
    scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do [[ -z $(squeue -h -t R,CG 2>/dev/null) ]] && break; sleep 0.25; done
  fi
  local name pid
  for name in slurmd slurmctld slurmdbd mariadbd munged; do
    if pid=$(alive $name); then
      kill "$pid"
      for ((i = 0; i < 80; i++)); do [[ -d /proc/$pid ]] || break; sleep 0.25; done
      [[ -d /proc/$pid ]] && kill -9 "$pid"
      say "stopped $name ($pid)"
    fi
    rm -f "$DIR/run/$name.pid"
  done
}

status() {
  local name pid
  for name in munged mariadbd slurmdbd slurmctld slurmd; do
    if pid=$(alive $name); then echo "$name: running ($pid)"; else echo "$name: stopped"; fi
  done
  [[ -e $CONF ]] && sinfo 2>&1 || true
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status   (eval \"\$($0 start)\" exports SLURM_CONF)" >&2; exit 2 ;;
esac
