#!/usr/bin/env bash
# Times the ADL scaling rows of docs/performance.md: benches/adl-crash.toml at
# 25k, 50k, 100k and 1M accounts (override with SIZES), with the 1 USD fund (ADL
# fires) and with a 1e11 USD fund (ADL never fires; 1e12 is above the engine's
# range and refused), one thread, one path.
#
#   scripts/adl-scale.sh target/release/backstop            # Binance ranking
#   POLICY=pro_rata scripts/adl-scale.sh target/release/backstop
#   SIZES="10000 100000" TIMEOUT=600 scripts/adl-scale.sh OLD NEW   # side by side
#
# POLICY is one of binance, bitmex, hyperliquid, dydx, pro_rata,
# min_max_leverage. Prints one line per run: binary, accounts, fund, seconds,
# peak RSS (MB), ADL closes (from summary.json); "timeout" after TIMEOUT seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="${SIZES:-25000 50000 100000 1000000}"
policy="${POLICY:-binance}"
timeout_s="${TIMEOUT:-300}"
case "$policy" in
    pro_rata | min_max_leverage) adl="$policy" ranking=binance ;;
    *) adl=queue ranking="$policy" ;;
esac
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '%-40s %9s %8s %9s %8s %s\n' binary accounts fund seconds peak_mb adl_closes
for bin in "$@"; do
    for n in $sizes; do
        for fund in 1.0 1e11; do
            toml="$work/adl-$n-$fund.toml"
            sed -e "s/^accounts = 100000$/accounts = $n/" \
                -e "s/^initial = 1.0$/initial = $fund/" \
                -e "s/^adl = \"queue\"$/adl = \"$adl\"/" \
                -e "s/^ranking = \"binance\"$/ranking = \"$ranking\"/" \
                benches/adl-crash.toml >"$toml"
            out="$work/out"
            rm -rf "$out"
            start=$(date +%s.%N)
            if /usr/bin/time -f '%M' -o "$work/rss" timeout "$timeout_s" \
                "$bin" run "$toml" --out "$out" --quiet --threads 1 >/dev/null 2>"$work/err"; then
                end=$(date +%s.%N)
                secs=$(echo "$end - $start" | bc)
                rss=$(($(tail -1 "$work/rss") / 1024))
                events=$(python3 -c 'import json,sys,glob
d=json.load(open(glob.glob(sys.argv[1]+"/*/summary.json")[0]))
print(int(d["aggregates"]["metrics"]["adl_closes"]["mean"]))' "$out" 2>/dev/null || echo "?")
                printf '%-40s %9s %8s %9.2f %8s %s\n' "$bin" "$n" "$fund" "$secs" "$rss" "${events:-?}"
            else
                printf '%-40s %9s %8s %9s %8s %s\n' "$bin" "$n" "$fund" "timeout" "-" "-"
            fi
        done
    done
done
