#!/usr/bin/env bash
# End to end on a real (one-node) Slurm cluster: installs Debian's slurm-wlm and
# munge if missing, starts munged, slurmctld and slurmd directly (no systemd) with
# a private configuration in a temporary folder (own ports, own munge socket),
# submits deploy/slurm/sweep.sbatch for a small sweep (2 x 2 sets x 8 paths, 3
# shards, then the dependent merge job), waits, and compares the merged results
# with a single-process `backstop sweep`, byte for byte.
#
#   scripts/slurm-e2e.sh [path/to/backstop]
#
# Exits 0 with "SKIP: ..." when Slurm cannot be installed or started here (not
# root, no apt, daemons refusing to start); 1 when the results differ or a job
# fails. Stops only the daemons it started.
set -uo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

target="${CARGO_TARGET_DIR:-target}"
backstop="$(realpath -m "${1:-${BACKSTOP:-$target/debug/backstop}}")"
if [[ ! -x "$backstop" ]]; then
    echo "FAIL: no backstop binary at $backstop (build it first, or pass its path)" >&2
    exit 1
fi

w="$(mktemp -d /tmp/backstop-slurm-e2e.XXXXXX)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for f in "$w"/slurmctld.pid "$w"/slurmd.pid "$w"/munged.pid; do
        [[ -s "$f" ]] && kill "$(cat "$f")" 2>/dev/null
    done
    sleep 1
    rm -rf "$w"
}
trap cleanup EXIT
skip() {
    echo "SKIP: $*"
    exit 0
}

# ---- install
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    [[ "$(id -u)" == 0 ]] || skip "slurm-wlm/munge not installed and not root (cannot apt-get install)"
    command -v apt-get >/dev/null || skip "slurm-wlm/munge not installed and no apt-get"
    echo "== apt-get install slurm-wlm munge"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends slurm-wlm munge >"$w/apt.log" 2>&1; then
        apt-get update -q >>"$w/apt.log" 2>&1
        apt-get install -y -q --no-install-recommends slurm-wlm munge >>"$w/apt.log" 2>&1 ||
            skip "cannot install slurm-wlm and munge: $(tail -n 1 "$w/apt.log")"
    fi
fi
[[ "$(id -u)" == 0 ]] || skip "the daemons need root here (slurmd runs jobs as their user)"
for cmd in munged slurmctld slurmd sbatch squeue sacct scontrol; do
    command -v "$cmd" >/dev/null || [[ "$cmd" == sacct ]] || skip "no $cmd after installing"
done

# ---- munge, private key and socket
echo "== munged"
dd if=/dev/urandom of="$w/munge.key" bs=1024 count=1 status=none
chmod 400 "$w/munge.key"
munged --force --socket="$w/munge.sock" --key-file="$w/munge.key" \
    --pid-file="$w/munged.pid" --log-file="$w/munged.log" --seed-file="$w/munged.seed" \
    >"$w/munged.out" 2>&1 || skip "munged does not start: $(tail -n 2 "$w/munged.out" "$w/munged.log" 2>/dev/null | tr '\n' ' ')"

# ---- slurm.conf, private ports and state
port_base=$((20000 + RANDOM % 20000))
mkdir -p "$w/state" "$w/spool" "$w/log"
cat >"$w/slurm.conf" <<EOF
ClusterName=backstop-e2e
SlurmctldHost=localhost
SlurmctldPort=$port_base
SlurmdPort=$((port_base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$w/munge.sock
StateSaveLocation=$w/state
SlurmdSpoolDir=$w/spool
SlurmctldPidFile=$w/slurmctld.pid
SlurmdPidFile=$w/slurmd.pid
SlurmctldLogFile=$w/log/slurmctld.log
SlurmdLogFile=$w/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=localhost CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$w/slurm.conf"

echo "== slurmctld, slurmd (ports $port_base, $((port_base + 1)))"
slurmctld -c -i >"$w/slurmctld.out" 2>&1 ||
    skip "slurmctld does not start: $(tail -n 3 "$w/log/slurmctld.log" "$w/slurmctld.out" 2>/dev/null | tr '\n' ' ')"
slurmd -N localhost >"$w/slurmd.out" 2>&1 ||
    skip "slurmd does not start: $(tail -n 3 "$w/log/slurmd.log" "$w/slurmd.out" 2>/dev/null | tr '\n' ' ')"
up=""
for _ in $(seq 1 30); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qiE '^(idle|mixed|allocated)'; then
        up=1
        break
    fi
    sleep 1
done
[[ -n "$up" ]] || skip "the node never came up: $(sinfo -N 2>&1 | tail -n 1); $(tail -n 3 "$w/log/slurmd.log" 2>/dev/null | tr '\n' ' ')"
sinfo

# ---- the sweep: 2 x 2 sets x 8 paths, 3 shards
cat >"$w/e2e.toml" <<'EOF'
name = "slurm-e2e"
seed = 3
paths = 8
start = "2025-10-10T00:00:00Z"

[market.btc]
price = 100000.0
tick_size = 0.1
lot_size = 0.001
tiers = [{ notional_floor = 0, imr = 0.01, mmr = 0.005 }, { notional_floor = 250000, imr = 0.02, mmr = 0.01 }]

[path]
kind = "jump"
steps = 240
volatility = 0.8
intensity = 365.0
jump_mean = -0.05
jump_stdev = 0.05

[population]
kind = "generated"
accounts = 500
notional = { distribution = "pareto", scale = 2000.0, shape = 1.3 }
max_notional = 2000000.0
leverage = { distribution = "lognormal", median = 10.0, sigma = 0.7 }

[[sweep.parameter]]
path = "market.btc.tiers[0].mmr"
values = [0.004, 0.008]

[[sweep.parameter]]
path = "insurance_fund.initial"
values = [10000, 40000]

[sweep.target]
max_depletion_probability = 0.25
EOF

echo "== sbatch deploy/slurm/sweep.sbatch (3 shards + merge)"
submitted="$(BACKSTOP="$backstop" bash "$repo/deploy/slurm/sweep.sbatch" "$w/e2e.toml" "$w/out" 3 2>&1)" || {
    echo "FAIL: submission failed: $submitted" >&2
    exit 1
}
echo "$submitted"
merge_job="$(echo "$submitted" | sed -n 's/.*merge job \([0-9]*\).*/\1/p')"
for _ in $(seq 1 600); do
    [[ -z "$(squeue -h 2>/dev/null)" ]] && break
    sleep 1
done
squeue -h | grep -q . && {
    echo "FAIL: jobs still queued after 10 minutes:" >&2
    squeue >&2
    exit 1
}
state="$(scontrol show job "$merge_job" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')"
echo "merge job $merge_job: ${state:-gone from slurmctld}"
merged="$w/out/slurm-e2e"
if [[ ! -s "$merged/summary.json" ]]; then
    echo "FAIL: no merged results in $merged" >&2
    tail -n 20 "$w"/out/backstop-*.out >&2 2>/dev/null
    tail -n 20 "$w/log/slurmctld.log" "$w/log/slurmd.log" >&2
    exit 1
fi
cat "$w"/out/backstop-merge-*.out 2>/dev/null

echo "== single process: backstop sweep"
"$backstop" sweep "$w/e2e.toml" --out "$w/single" --quiet || {
    echo "FAIL: single-process sweep failed" >&2
    exit 1
}
status=0
for f in sweep.parquet paths.parquet haircuts.parquet summary.json; do
    if cmp -s "$merged/$f" "$w/single/slurm-e2e/$f"; then
        echo "same: $f"
    else
        echo "FAIL: $f differs between the Slurm merge and the single run" >&2
        status=1
    fi
done
[[ $status == 0 ]] && echo "== ok: Slurm sweep (3 shards + merge) equals the single-process sweep byte for byte"
exit $status
