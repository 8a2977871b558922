#!/usr/bin/env bash
# Runs the ADL crash of benches/adl-crash.toml with `adl = "pro_rata"` and with
# `adl = "min_max_leverage"` at 100,000 and 1,000,000 accounts (override with
# SIZES) with two binaries, one thread, and compares the sha256 of every output
# file: a speed-up of those policies must leave every byte as it was. The
# example scenarios (scripts/output-hashes.sh) never run them at this size.
#
#   scripts/adl-crash-hashes.sh OLD_BINARY NEW_BINARY
#   SIZES=100000 scripts/adl-crash-hashes.sh OLD_BINARY NEW_BINARY
#
# Prints one line per policy and size; exits 1 on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 2 ]] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
old="$1"
new="$2"
sizes="${SIZES:-100000 1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for n in $sizes; do
    for policy in pro_rata min_max_leverage; do
        toml="$work/$policy-$n.toml"
        sed -e "s/^accounts = 100000$/accounts = $n/" \
            -e "s/^adl = \"queue\"$/adl = \"$policy\"/" \
            benches/adl-crash.toml >"$toml"
        for side in old new; do
            bin="$old"
            [[ $side == new ]] && bin="$new"
            "$bin" run "$toml" --out "$work/$side-$policy-$n" --quiet --threads 1 >/dev/null
            (cd "$work/$side-$policy-$n" && find . -type f | sort | xargs sha256sum) \
                >"$work/$side-$policy-$n.sha"
        done
        if cmp -s "$work/old-$policy-$n.sha" "$work/new-$policy-$n.sha"; then
            echo "$policy $n: identical ($(wc -l <"$work/new-$policy-$n.sha") files)"
        else
            echo "$policy $n: DIFFERENT"
            diff "$work/old-$policy-$n.sha" "$work/new-$policy-$n.sha" | head -20
            status=1
        fi
    done
done
exit "$status"
