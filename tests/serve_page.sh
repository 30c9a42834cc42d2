#!/usr/bin/env bash
# The web chat of r1 serve in headless Chromium (tests/serve_page.mjs): typed question, streamed
# thinking and answer shown apart, a second turn, no console messages, a screenshot. Prints
# PASS/FAIL lines for tests/run.sh; one SKIP line when Chromium, node or the npm package ws is
# missing (tools/deps.sh --chromium, tools/fetch_serve_clients.sh).
#   tests/serve_page.sh [--png OUT.png]      keep the screenshot (make serve-screenshot)
# Env: R1 (default build/r1), CHROMIUM (default: chromium or chromium-browser on PATH).
set -u
cd "$(dirname "$0")/.."
. tests/serve_common.sh
png_out=""
[ "${1:-}" = "--png" ] && png_out=$2
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || ! [ -x "$chromium" ]; then
  echo "SKIP serve_page: Chromium not installed (tools/deps.sh --chromium)"; exit 0
fi
if ! command -v node > /dev/null 2>&1 || [ ! -f build/node/node_modules/ws/package.json ]; then
  echo "SKIP serve_page: node or the npm package ws missing (tools/fetch_serve_clients.sh)"; exit 0
fi
work=$(mktemp -d /tmp/r1_serve_page_XXXXXX)
SERVE_PID=""
trap '[ -n "$SERVE_PID" ] && kill -KILL $SERVE_PID 2>/dev/null; rm -rf "$work"' EXIT
serve_make_model "$work" 512 > "$work/make.log" 2>&1 || { echo "FAIL serve_page_model"; tail "$work/make.log"; exit 1; }
serve_start "$work/serve.log" --model "$work/m" --threads 2 --quiet || { echo "FAIL serve_page: no server"; exit 1; }
timeout 120 node tests/serve_page.mjs "$SERVE_URL" "$chromium" "$work" "${png_out:-$work/page.png}"; rc=$?
serve_stop || { echo "FAIL serve_page_exit"; rc=1; }
SERVE_PID=""
exit $rc
