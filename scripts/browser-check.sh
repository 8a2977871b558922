#!/usr/bin/env bash
# Opens a rendered report.html in a real browser (headless Chromium, from disk, no
# network) and fails if the page logged anything to the console (the report has no
# scripts and fetches nothing, so any console message is an error: a blocked fetch,
# a parse error), if the DOM lacks the report's charts, or if the screenshot is
# blank (mostly one colour).
#
#   scripts/browser-check.sh REPORT_HTML [SECTION_ID...]
#
# Every SECTION_ID given must be the id of a heading of the page (e.g.
# recommended-actions, book-eth). Every image loads: each chart figure holds
# its inline SVG, every <img> source is a file beside the page, and every
# image report.md links (charts/NAME.png, relative) is a PNG beside it.
#
# Installs Debian's chromium when it is missing (needs root and apt-get); when it
# cannot be installed, prints why and exits 0 (SKIPPED) rather than failing CI.
# Keeps the screenshot next to the log in $BROWSER_CHECK_OUT if set.
set -euo pipefail

html="${1:?usage: scripts/browser-check.sh REPORT_HTML [SECTION_ID...]}"
shift
sections=("$@")
if [[ ! -f "$html" ]]; then
    echo "browser-check: no such file: $html" >&2
    exit 2
fi
abs="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"

find_chromium() {
    command -v chromium || command -v chromium-browser || true
}

browser="$(find_chromium)"
if [[ -z "$browser" ]]; then
    echo "browser-check: chromium not found; installing Debian's chromium"
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        log="$(mktemp)"
        if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >"$log" 2>&1; then
            echo "browser-check: SKIPPED: apt-get could not install chromium:" >&2
            tail -n 5 "$log" >&2
            rm -f "$log"
            exit 0
        fi
        rm -f "$log"
        browser="$(find_chromium)"
    fi
    if [[ -z "$browser" ]]; then
        echo "browser-check: SKIPPED: chromium is not installed and cannot be (needs root and apt-get)" >&2
        exit 0
    fi
fi
echo "browser-check: $("$browser" --version 2>/dev/null || echo "$browser")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${BROWSER_CHECK_OUT:-$work}"
mkdir -p "$out"

flags=(
    --headless --no-sandbox --disable-gpu --disable-dev-shm-usage
    --disable-background-networking --disable-component-update --disable-sync
    --no-first-run --no-default-browser-check --hide-scrollbars
    --enable-logging=stderr --v=0
)

# 1. The DOM as the browser built it.
timeout 120 "$browser" "${flags[@]}" --user-data-dir="$work/profile-dom" \
    --dump-dom "file://$abs" >"$work/dom.html" 2>"$out/dom.log" || {
    echo "browser-check: FAILED: chromium could not load the page" >&2
    tail -n 20 "$out/dom.log" >&2
    exit 1
}
# 2. A screenshot of the top of the page: headline table and the first charts.
timeout 120 "$browser" "${flags[@]}" --user-data-dir="$work/profile-shot" \
    --window-size=1280,2400 --screenshot="$out/screenshot.png" "file://$abs" \
    >/dev/null 2>"$out/screenshot.log" || {
    echo "browser-check: FAILED: chromium could not take a screenshot" >&2
    tail -n 20 "$out/screenshot.log" >&2
    exit 1
}

status=0
console="$(grep -h 'CONSOLE' "$out/dom.log" "$out/screenshot.log" || true)"
if [[ -n "$console" ]]; then
    echo "browser-check: FAILED: the page logged to the console:" >&2
    echo "$console" >&2
    status=1
fi
svgs="$(grep -o '<svg' "$work/dom.html" | wc -l)"
if [[ "$svgs" -lt 1 ]] || ! grep -q '<h1>' "$work/dom.html"; then
    echo "browser-check: FAILED: the DOM has no heading or no charts ($svgs inline SVGs)" >&2
    status=1
fi
echo "browser-check: DOM has $svgs inline SVG charts"

# The sections asked for, and every image loaded.
python3 - "$work/dom.html" "$abs" "${sections[@]}" <<'PY' || status=1
import os, re, sys

dom = open(sys.argv[1], encoding="utf-8").read()
page = sys.argv[2]
folder = os.path.dirname(page)
bad = []
ids = set(re.findall(r'<h2 id="([^"]+)"', dom))
for want in sys.argv[3:]:
    if want not in ids:
        bad.append(f"no section #{want} (sections: {', '.join(sorted(ids))})")
figures = re.findall(r"<figure\b.*?</figure>", dom, re.S)
for f in figures:
    if "<svg" not in f:
        bad.append("a chart figure without its SVG: " + f[:80])
for src in re.findall(r'<img[^>]*\bsrc="([^"]+)"', dom):
    if re.match(r"[a-z]+:", src) or src.startswith("/"):
        bad.append(f"an image not beside the page: {src}")
    elif not os.path.isfile(os.path.join(folder, src)):
        bad.append(f"an image that does not load: {src}")
md = os.path.join(folder, "report.md")
links = []
if os.path.isfile(md):
    text = open(md, encoding="utf-8").read()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    for link in links:
        path = os.path.join(folder, link)
        if link.startswith("/") or re.match(r"[a-z]+:", link):
            bad.append(f"report.md links an image by an absolute path: {link}")
        elif not os.path.isfile(path) or open(path, "rb").read(8) != b"\x89PNG\r\n\x1a\n":
            bad.append(f"report.md links an image that does not load: {link}")
for b in bad:
    print(f"browser-check: FAILED: {b}", file=sys.stderr)
print(f"browser-check: {len(ids)} sections, {len(figures)} charts, {len(links)} report.md images")
sys.exit(1 if bad else 0)
PY

# Blank screenshot: the commonest colour covers (almost) everything, or few colours.
python3 - "$out/screenshot.png" <<'PY' || status=1
import struct, sys, zlib
from collections import Counter

path = sys.argv[1]
data = open(path, "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("browser-check: FAILED: the screenshot is not a PNG")
pos, idat, header = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    chunk = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", chunk)
    elif kind == b"IDAT":
        idat += chunk
    pos += 12 + length
width, height, depth, color, _, _, interlace = header
channels = {2: 3, 6: 4, 0: 1, 4: 2}.get(color)
if depth != 8 or channels is None or interlace:
    sys.exit(f"browser-check: FAILED: unexpected PNG format (depth {depth}, colour {color})")
raw = zlib.decompress(idat)
stride = width * channels
prev = bytearray(stride)
counts = Counter()
i = 0
for _ in range(height):
    f = raw[i]
    line = bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - channels] if x >= channels else 0
        b = prev[x]
        c = prev[x - channels] if x >= channels else 0
        if f == 1:
            line[x] = (line[x] + a) & 255
        elif f == 2:
            line[x] = (line[x] + b) & 255
        elif f == 3:
            line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[x] = (line[x] + pr) & 255
    counts.update(bytes(line[k:k + 3]) for k in range(0, stride, channels * 4))
    prev = line
total = sum(counts.values())
top, n = counts.most_common(1)[0]
share = n / total
print(f"browser-check: screenshot {width}x{height}, {len(counts)} colours, "
      f"commonest covers {share:.1%}")
if share > 0.985 or len(counts) < 8:
    sys.exit("browser-check: FAILED: the screenshot is blank (mostly one colour)")
PY

if [[ "$status" == 0 ]]; then
    echo "browser-check: ok"
fi
exit "$status"
