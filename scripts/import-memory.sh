#!/usr/bin/env bash
# Peak memory (RSS, /usr/bin/time -v) and wall time of `backstop import` on a
# generated Binance `trades` CSV: once with the in-memory sort (a sort buffer
# larger than the input) and once with the external sort (the default buffer,
# or $BUFFER), the latter under a memory cap when a cgroup can be made.
#
# Not run by CI: it takes minutes and about 2 GB of disk for 10 M rows.
#
#   scripts/import-memory.sh [ROWS]        # default 10000000 (about 570 MB of CSV)
#
# Environment:
#   BACKSTOP  the backstop binary (default: cargo build --release --features import)
#   WORK      scratch folder for the CSV and outputs (default /tmp/backstop-import-memory)
#   BUFFER    --sort-buffer-rows for the external run (default: the built-in default)
#   CAP       memory cap for the external run, in bytes (default 1 GiB; 0 for none).
#             Uses a cgroup v1 memory controller child of this shell's cgroup, or
#             cgroup v2 (memory.max); skipped with a note when neither is writable.
#
# The CSV is generated from a fixed seed: ids ascending, times in ms, 0.1 % of
# the rows repeated a little later (exact duplicates), and rows shuffled within
# blocks of 100 (so the input is not sorted).
set -euo pipefail
cd "$(dirname "$0")/.."

rows="${1:-10000000}"
work="${WORK:-/tmp/backstop-import-memory}"
cap="${CAP:-1073741824}"
mkdir -p "$work"

bin="${BACKSTOP:-}"
if [[ -z "$bin" ]]; then
    cargo build --release --features import
    bin="${CARGO_TARGET_DIR:-target}/release/backstop"
fi

csv="$work/BTCUSDT-trades-generated-$rows.csv"
if [[ ! -s "$csv" ]]; then
    echo "== generating $csv"
    python3 - "$rows" "$csv" <<'PY'
import random
import sys

rows, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20251010)
block = []
written = 0
trade_id = 6_000_000_000
ts = 1_760_054_400_000
price = 110_000.0
with open(path, "w", buffering=1 << 22) as out:
    out.write("id,price,qty,quote_qty,time,is_buyer_maker\n")
    while written < rows:
        trade_id += 1
        ts += rng.randrange(0, 20)
        price = max(1.0, price + rng.choice((-0.1, 0.0, 0.1)))
        qty = rng.randrange(1, 5000) / 1000
        line = f"{trade_id},{price:.1f},{qty:.3f},{price * qty:.4f},{ts},{'true' if rng.random() < 0.5 else 'false'}\n"
        block.append(line)
        if rng.random() < 0.001:
            block.append(line)
        if len(block) >= 100:
            rng.shuffle(block)
            block = block[: rows - written]
            out.writelines(block)
            written += len(block)
            block = []
    if block and written < rows:
        out.writelines(block[: rows - written])
PY
fi
ls -l "$csv"

# Runs "$@" in a fresh memory cgroup limited to $1 bytes (0: no limit).
capped() {
    local limit="$1"
    shift
    if [[ "$limit" == 0 ]]; then
        "$@"
        return
    fi
    local parent group
    parent="/sys/fs/cgroup/memory$(grep -E '^[0-9]+:memory:' /proc/self/cgroup | cut -d: -f3)"
    group="$parent/backstop-import-memory-$$"
    if mkdir "$group" 2>/dev/null && echo "$limit" >"$group/memory.limit_in_bytes"; then
        # No swap either, where the kernel accounts it.
        echo "$limit" >"$group/memory.memsw.limit_in_bytes" 2>/dev/null || true
        echo "(cgroup v1 memory cap: $limit bytes)" >&2
        local status=0
        sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$group" "$@" || status=$?
        rmdir "$group" 2>/dev/null || true
        return "$status"
    fi
    rmdir "$group" 2>/dev/null || true
    parent="/sys/fs/cgroup$(grep -E '^0::' /proc/self/cgroup | cut -d: -f3)"
    group="$parent/backstop-import-memory-$$"
    if mkdir "$group" 2>/dev/null && echo "$limit" >"$group/memory.max"; then
        echo "$limit" >"$group/memory.swap.max" 2>/dev/null || true
        echo "(cgroup v2 memory cap: $limit bytes)" >&2
        local status=0
        sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$group" "$@" || status=$?
        rmdir "$group" 2>/dev/null || true
        return "$status"
    fi
    rmdir "$group" 2>/dev/null || true
    echo "(no writable memory cgroup here: running without a cap)" >&2
    "$@"
}

# measure LABEL CAP [import options...]
measure() {
    local label="$1" limit="$2"
    shift 2
    echo "== $label"
    rm -f "$work/$label.parquet"
    local status=0
    capped "$limit" /usr/bin/time -v -o "$work/$label.time" \
        "$bin" import --format binance-trades "$csv" --out "$work/$label.parquet" "$@" \
        >"$work/$label.report" || status=$?
    cat "$work/$label.report"
    rm -f "$work/$label.parquet"
    grep -E 'Maximum resident set size|Elapsed \(wall clock\)' "$work/$label.time" || true
    echo "exit status: $status"
}

measure in-memory 0 --sort-buffer-rows "$((rows * 2))"
if [[ -n "${BUFFER:-}" ]]; then
    measure external "$cap" --sort-buffer-rows "$BUFFER"
else
    measure external "$cap"
fi

echo "== same report (apart from the output name)?"
if diff <(tail -n +2 "$work/in-memory.report") <(tail -n +2 "$work/external.report"); then
    echo "yes"
fi
