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
case ",${R1_TEST_WITHOUT:-}," in *,chromium,*) CHROMIUM=/nonexistent ;; esac   # pretend it missing
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || ! [ -x "$chromium" ]; then
  echo "SKIP serve_page: Chromium not installed (tools/deps.sh --chromium)"; exit 0
fi
serve_need_node serve_page ws
serve_setup serve_page 512
serve_start "$work/serve.log" --model "$work/m" --threads 2 --quiet || { echo "FAIL serve_page: no server"; exit 1; }
timeout 120 node tests/serve_page.mjs "$SERVE_URL" "$chromium" "$work" "${png_out:-$work/page.png}"; rc=$?
serve_stop || { echo "FAIL serve_page_exit"; rc=1; }
SERVE_PID=""
exit $rc
