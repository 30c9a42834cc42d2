#!/usr/bin/env bash
# Bounded load test of r1 serve on loopback (tests/serve_load.mjs): LOAD_CLIENTS concurrent
# streaming clients (default 8) for LOAD_SECONDS (default 4) after a 2 s warm-up; no errors, RSS
# kept, latency and tokens/s printed. SKIP line when node or the npm package openai is missing.
set -u
cd "$(dirname "$0")/.."
. tests/serve_common.sh
serve_need_node serve_load openai
serve_setup serve_load 256
# under AddressSanitizer (make debug) freed memory waits in a quarantine that RSS would count
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
serve_start "$work/serve.log" --model "$work/m" --threads 2 --quiet || { echo "FAIL serve_load: no server"; exit 1; }
timeout 120 node tests/serve_load.mjs "$SERVE_URL" "$SERVE_PID" "${LOAD_CLIENTS:-8}" 2 "${LOAD_SECONDS:-4}"; rc=$?
serve_stop || { echo "FAIL serve_load_exit"; rc=1; }
SERVE_PID=""
exit $rc
