#!/usr/bin/env bash
# What two cores give one workload on this machine, beside what two threads get
# (docs/performance.md, "Issue 14 on a quiet machine, after round 14"). Each
# round runs, one after the other: the scenario alone on one thread; two
# one-thread runs of it at once, each its own process and results folder
# (nothing shared but the machine); and one two-thread run. Then it prints the
# medians and
#
#   ceiling  = 2 x alone / pair   (the throughput of two workers that share nothing)
#   speed-up = alone / two-thread
#
# A two-thread run cannot beat the ceiling for long; on a machine whose cores
# share nothing the ceiling is 2.
#
#   scripts/two-worker-ceiling.sh target/release/backstop
#   ROUNDS=20 SCENARIO=benches/sweep-36.toml COMMAND=sweep scripts/two-worker-ceiling.sh BIN
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:?usage: scripts/two-worker-ceiling.sh BACKSTOP_BINARY}"
rounds="${ROUNDS:-12}"
scenario="${SCENARIO:-scenarios/mc-garch-baseline.toml}"
command="${COMMAND:-run}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
one() { # one THREADS OUT: a quiet run into a fresh folder
    rm -rf "$2"
    "$bin" "$command" "$scenario" --threads "$1" --out "$2" --quiet >/dev/null
}
now() { date +%s.%N; }
: >"$work/times"
for _ in $(seq "$rounds"); do
    t0=$(now); one 1 "$work/a"; t1=$(now)
    one 1 "$work/a" & p=$!; one 1 "$work/b"; wait "$p"; t2=$(now)
    one 2 "$work/a"; t3=$(now)
    echo "$t0 $t1 $t2 $t3" >>"$work/times"
done
python3 - "$work/times" <<'PY'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1])]
alone = statistics.median(r[1] - r[0] for r in rows)
pair = statistics.median(r[2] - r[1] for r in rows)
two = statistics.median(r[3] - r[2] for r in rows)
print(f"rounds {len(rows)}: alone {alone:.3f} s, two at once {pair:.3f} s, two threads {two:.3f} s (medians)")
print(f"ceiling {2 * alone / pair:.2f}x, two-thread speed-up {alone / two:.2f}x ({alone / two / (2 * alone / pair):.0%} of the ceiling)")
PY
