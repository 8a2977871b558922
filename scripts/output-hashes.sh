#!/usr/bin/env bash
# Runs every example scenario (sweeps with `backstop sweep`, plus one `backstop
# compare`) with the given binary and prints one line per output file:
# `<sha256>  <scenario name>/<file>`, sorted. Two builds whose outputs are
# byte-identical print the same lines: a commit that only moves code or makes it
# faster must not change them.
#
#   scripts/output-hashes.sh target/release/backstop > after.txt
#   scripts/output-hashes.sh /path/to/parent/backstop > before.txt
#   diff before.txt after.txt
#
# or, comparing two binaries in one go (exit 1 on any difference):
#
#   scripts/output-hashes.sh --compare OLD_BINARY NEW_BINARY
#
# The scenarios are those of this checkout (run from its root), so both
# binaries see the same inputs. Monte Carlo scenarios run in full: use release
# builds. `--paths N` (before the binary) caps the paths of every Monte Carlo
# run and sweep for a quicker check.
#
# `--png-pixels` (after `--paths N`, if any) hashes each PNG by its decoded
# pixels (size, mode and RGB bytes, read with Pillow, installed if missing)
# instead of its bytes: for a commit that changes only how charts are encoded,
# which must leave every other file byte-identical and every image the same.
set -euo pipefail
cd "$(dirname "$0")/.."

paths_arg=()
if [[ "${1:-}" == "--paths" ]]; then
    paths_arg=(--paths "$2")
    shift 2
fi
pixels_arg=()
if [[ "${1:-}" == "--png-pixels" ]]; then
    pixels_arg=(--png-pixels)
    shift
    python3 -c "import PIL" 2>/dev/null || python3 -m pip install --quiet pillow
fi

if [[ "${1:-}" == "--compare" ]]; then
    old="$2"
    new="$3"
    a="$(mktemp)"
    b="$(mktemp)"
    trap 'rm -f "$a" "$b"' EXIT
    "$0" ${paths_arg[@]+"${paths_arg[@]}"} ${pixels_arg[@]+"${pixels_arg[@]}"} "$old" >"$a"
    "$0" ${paths_arg[@]+"${paths_arg[@]}"} ${pixels_arg[@]+"${pixels_arg[@]}"} "$new" >"$b"
    if diff "$a" "$b"; then
        echo "identical: $(wc -l <"$a") files" >&2
        exit 0
    fi
    echo "outputs differ (< $old, > $new)" >&2
    exit 1
fi

bin="$(realpath "${1:?usage: scripts/output-hashes.sh [--paths N] [--png-pixels] BINARY | --compare OLD NEW}")"
# A fixed, relative output folder: files that mention the results folder then
# mention the same text whichever checkout or binary ran them.
out=".output-hashes"
# One run at a time per checkout: a second would write into the same folder.
exec 9<"$0"
flock -n 9 || { echo "output-hashes.sh is already running in this checkout" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

while IFS= read -r file; do
    if grep -q '^\[sweep\]' "$file" || grep -q '^\[\[sweep\.' "$file"; then
        "$bin" sweep "$file" --out "$out" --quiet --threads 2 ${paths_arg[@]+"${paths_arg[@]}"} >/dev/null
    elif grep -q '^paths *=' "$file"; then
        "$bin" run "$file" --out "$out" --quiet --threads 2 ${paths_arg[@]+"${paths_arg[@]}"} >/dev/null
    else
        "$bin" run "$file" --out "$out" --quiet --threads 2 >/dev/null
    fi
done < <(find scenarios -name '*.toml' | LC_ALL=C sort)

if [[ -d "$out/controls-oct-2025-without" && -d "$out/controls-oct-2025-with" ]]; then
    "$bin" compare "$out/controls-oct-2025-without" "$out/controls-oct-2025-with" \
        --out "$out/compare-controls" >/dev/null
fi

# With --png-pixels, a PNG's line reads `<sha256 of its pixels>  <file> (pixels)`.
png_pixels='
import hashlib, sys
from PIL import Image
for name in sys.stdin.read().split("\n"):
    if not name:
        continue
    if name.endswith(".png"):
        with Image.open(name) as img:
            h = hashlib.sha256(f"{img.size} {img.mode}".encode())
            h.update(img.tobytes())
        print(f"{h.hexdigest()}  {name} (pixels)")
    else:
        with open(name, "rb") as f:
            print(f"{hashlib.sha256(f.read()).hexdigest()}  {name}")
'
(
    cd "$out"
    files="$(find . -type f ! -name '*.tmp' | LC_ALL=C sort | sed 's|^\./||')"
    if [[ ${#pixels_arg[@]} -gt 0 ]]; then
        python3 -c "$png_pixels" <<<"$files"
    else
        xargs sha256sum <<<"$files"
    fi
)
