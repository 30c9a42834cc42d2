#!/usr/bin/env bash
# Renders the pipeline report (report.html) in headless Chromium and checks the result: no console
# errors, every inline <svg> chart and every section heading in the rendered DOM, and a screenshot
# that is a real PNG of the requested width with actual content (many colours, ink over most of the
# page height). Prints PASS/FAIL lines for tests/run.sh; without Chromium one SKIP line (run.sh
# shows it and does not count it as passed).
#
#   tests/report_render.sh                      nano pipeline into a temp dir, screenshot discarded
#   tests/report_render.sh --png build/report.png   keep the screenshot (make report-screenshot)
#   tests/report_render.sh --html FILE.html     check an existing report instead of running nano
# Env: R1 (default build/r1), CHROMIUM (default: chromium or chromium-browser on PATH),
# R1_TEST_WITHOUT (a list naming chromium: act as if it were not installed).
set -u
png_out=""; html=""
while [ $# -gt 0 ]; do
  case "$1" in
    --png) png_out="$2"; shift 2 ;;
    --html) html="$2"; shift 2 ;;
    *) echo "usage: tests/report_render.sh [--png OUT.png] [--html REPORT.html]" >&2; exit 2 ;;
  esac
done
case ",${R1_TEST_WITHOUT:-}," in *,chromium,*) CHROMIUM=/nonexistent ;; esac   # pretend it missing
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || ! [ -x "$chromium" ]; then
  echo "SKIP report_render: Chromium not installed (tools/deps.sh --chromium)"
  exit 0
fi
work=$(mktemp -d /tmp/r1_render_XXXXXX)
trap 'rm -rf "$work"' EXIT
width=1280; height=4000
if [ -z "$html" ]; then
  if ! "${R1:-build/r1}" pipeline --preset nano --out "$work/run" > "$work/pipeline.log" 2>&1; then
    echo "FAIL report_render_pipeline: r1 pipeline --preset nano failed"; tail -20 "$work/pipeline.log"; exit 1
  fi
  html="$work/run/report.html"
fi
[ -f "$html" ] || { echo "FAIL report_render: no report at $html"; exit 1; }
abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
png=${png_out:-$work/report.png}
rm -f "$png"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile"
       --enable-logging=stderr --v=0)
rc=0

# 1+2: DOM after parsing and layout, and the console (a static report must log nothing)
timeout 120 "$chromium" "${flags[@]}" --dump-dom "file://$abs" > "$work/dom.html" 2> "$work/dom.log"
console=$(grep -E 'CONSOLE[(:]|Uncaught' "$work/dom.log")
if [ -n "$console" ]; then
  echo "FAIL report_render_console: the page logged:"; head -5 <<<"$console"; rc=1
else
  echo "PASS report_render_console"
fi
python3 - "$html" "$work/dom.html" <<'PY' || rc=1
import re, sys
src = open(sys.argv[1], encoding="utf-8").read()     # also fails on invalid UTF-8
dom = open(sys.argv[2], encoding="utf-8", errors="replace").read()
why = []
n_src, n_dom = src.count("<svg"), dom.count("<svg")
closed = dom.count("</svg>")
if n_src < 6: why.append(f"report has {n_src} <svg> charts, expected at least 6")
if n_dom != n_src or closed != n_src:
    why.append(f"DOM has {n_dom} <svg> ({closed} closed), report has {n_src}")
for h in ["r1.c pipeline report", "Key results", "Benchmark table", "RL curves", "Wall time per stage"]:
    if not re.search(r"<h[12]>" + re.escape(h), dom): why.append(f"heading '{h}' missing from the DOM")
if dom.count("<table") < 2: why.append("fewer than 2 tables in the DOM")
if "</body></html>" not in src.replace("\n", ""): why.append("report.html does not end with </body></html>")
if why:
    print("FAIL report_render_dom: " + "; ".join(why)); sys.exit(1)
print(f"PASS report_render_dom ({n_dom} charts)")
PY

# 3: the screenshot
timeout 120 "$chromium" "${flags[@]}" --screenshot="$png" --window-size="$width,$height" "file://$abs" \
  > "$work/shot.log" 2>&1
python3 - "$png" "$width" "$height" <<'PY' || rc=1
import struct, sys, zlib
path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def fail(msg):
    print(f"FAIL report_render_screenshot: {path}: {msg}"); sys.exit(1)
try: data = open(path, "rb").read()
except OSError: fail("not written")
if data[:8] != b"\x89PNG\r\n\x1a\n": fail("not a PNG")
pos, idat, ihdr = 8, b"", None
while pos + 8 <= len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]: fail(f"bad CRC in {kind}")
    if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT": idat += body
    pos += 12 + n
if not ihdr: fail("no IHDR")
w, h, depth, ctype, _, _, interlace = ihdr
if (w, h) != (want_w, want_h): fail(f"{w}x{h}, expected {want_w}x{want_h}")
if depth != 8 or ctype not in (2, 6) or interlace: fail(f"unexpected format depth {depth} type {ctype}")
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
M0 = int.from_bytes(b"\x00\xff" * (stride // 2 + 1), "big") >> (8 * ((stride // 2 + 1) * 2 - stride))
M1 = (1 << 8 * stride) - 1 ^ M0
def add_rows(x, y):   # bytewise (x + y) mod 256 over a whole row, as big integers without carries
    a, b = int.from_bytes(x, "big"), int.from_bytes(y, "big")
    return bytearray((((a & M0) + (b & M0)) & M0 | ((a & M1) + (b & M1)) & M1).to_bytes(stride, "big"))
prev, colours, ink_rows = bytearray(stride), set(), 0
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 2: line, f = add_rows(line, prev), 0   # "Up", the common filter: fast path
    for i in range(stride if f else 0):   # undo the other PNG row filters
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    if y % 4 == 0:   # sample every 4th row: enough to find colours and where the content is
        px = {bytes(line[i:i + 3]) for i in range(0, stride, bpp)}
        colours |= px
        ink_rows += any(p != b"\xff\xff\xff" for p in px)
ink = ink_rows * 4
if len(colours) < 16: fail(f"only {len(colours)} colours: blank or single-colour render")
if ink < 2000: fail(f"content covers only {ink} px of height: report cut short")
print(f"PASS report_render_screenshot ({w}x{h}, {len(colours)} colours, content over {ink} px)")
PY
exit $rc
