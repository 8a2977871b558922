#!/usr/bin/env bash
# End to end on a real local Ray cluster: `ray start --head` plus a worker node
# on this machine (own temp folder and ports, every node on 127.0.0.1), a sweep run as Ray tasks by
# `backstop.ray.sweep` (3 shards of 2 x 2 sets x 8 paths) and merged, compared
# byte for byte with a single-process `backstop sweep`.
#
#   scripts/ray-e2e.sh path/to/backstop path/to/venv/bin/python
#
# The Python must have the backstop wheel installed (.ci/run does it). Installs
# Ray into that environment if missing; exits 0 with "SKIP: ..." only when Ray
# cannot be installed or started here; 1 when the results differ or a task
# fails. Ends only the Ray processes it started (their session ids).
set -uo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

backstop="$(realpath -m "${1:?usage: ray-e2e.sh BACKSTOP PYTHON}")"
py="${2:?usage: ray-e2e.sh BACKSTOP PYTHON}"
bin="$(dirname "$py")"
skip() {
    echo "SKIP: $*"
    exit 0
}

if ! "$py" -c "import ray" 2>/dev/null; then
    echo "installing ray into $(dirname "$bin")"
    "$py" -m pip install -q -r crates/python/requirements-ray.txt || skip "Ray cannot be installed here (pip install ray failed)"
fi
"$py" -c "import backstop" || { echo "FAIL: the backstop wheel is not installed in $py" >&2; exit 1; }

w="$(mktemp -d /tmp/backstop-ray-e2e.XXXXXX)"
port=$((20000 + RANDOM % 20000))
# Each `ray start` runs in a session of its own (setsid): cleanup ends exactly the
# processes of those sessions, by session id (never `ray stop`, which ends every
# Ray process of the machine by name).
sids=()
in_session() { # FILE COMMAND...: COMMAND in a new session, its id written to FILE
    local file="$1"
    shift
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$file" "$@"
}
end_sessions() {
    local sig pids
    for sig in TERM KILL; do
        pids="$(ps -eo pid=,sid= | awk -v list=" ${sids[*]} " 'index(list, " " $2 " ") {print $1}')"
        [[ -z "$pids" ]] && break
        # shellcheck disable=SC2086
        kill -s "$sig" $pids 2>/dev/null
        sleep 3
    done
}
cleanup() {
    [[ ${#sids[@]} -gt 0 ]] && end_sessions
    rm -rf "$w"
}
trap cleanup EXIT
export RAY_TMPDIR="$w" RAY_USAGE_STATS_ENABLED=0

echo "== ray start --head (port $port) + one worker node"
in_session "$w/head.sid" "$bin/ray" start --head --node-ip-address=127.0.0.1 --port="$port" --num-cpus=1 --temp-dir="$w/ray" \
    --include-dashboard=false --disable-usage-stats >"$w/head.log" 2>&1
head_ok=$?
sids+=("$(cat "$w/head.sid")")
[[ $head_ok == 0 ]] || { tail -n 20 "$w/head.log"; skip "the Ray head node does not start here"; }
in_session "$w/worker.sid" "$bin/ray" start --address="127.0.0.1:$port" --node-ip-address=127.0.0.1 --num-cpus=2 >"$w/worker.log" 2>&1
worker_ok=$?
sids+=("$(cat "$w/worker.sid")")
[[ $worker_ok == 0 ]] || { tail -n 20 "$w/worker.log"; skip "a Ray worker node does not start here"; }

# The sweep: the Slurm end-to-end test's (2 x 2 sets, 8 paths each).
sed -e 's/^name = .*/name = "ray-e2e"/' -e 's/^paths = .*/paths = 8/' \
    scenarios/sweep-margin-fee.toml >"$w/e2e.toml"

echo "== backstop.ray.sweep (3 shards as Ray tasks, then merge)"
"$py" - "$w" "$port" <<'PY' || { echo "FAIL: the Ray sweep failed" >&2; exit 1; }
import sys, ray, backstop.ray
w, port = sys.argv[1], sys.argv[2]
ray.init(address=f"127.0.0.1:{port}", _node_ip_address="127.0.0.1", log_to_driver=False)
nodes = [n for n in ray.nodes() if n["Alive"]]
print(f"ray cluster: {len(nodes)} nodes, {ray.cluster_resources().get('CPU', 0):.0f} CPUs")
res = backstop.ray.sweep(f"{w}/e2e.toml", shards=3, out=f"{w}/ray")
print("merged into", res.dir, "-", res.sweep.num_rows, "parameter sets")
PY

echo "== single-process backstop sweep"
"$backstop" sweep "$w/e2e.toml" --out "$w/single" --quiet || { echo "FAIL: backstop sweep" >&2; exit 1; }

status=0
for f in sweep.parquet paths.parquet haircuts.parquet summary.json; do
    if cmp -s "$w/ray/ray-e2e/$f" "$w/single/ray-e2e/$f"; then
        echo "same: $f"
    else
        echo "FAIL: $f differs between the Ray merge and the single run" >&2
        status=1
    fi
done
[[ $status == 0 ]] && echo "ray e2e: ok (3 Ray tasks merged = single sweep, byte for byte)"
exit $status
