#!/usr/bin/env bash
# Bounded load test of r1 serve on loopback (tests/serve_load.mjs): LOAD_CLIENTS concurrent
# streaming clients (default 8) for LOAD_SECONDS (default 4) after a 2 s warm-up; no errors, RSS
# kept, latency and tokens/s printed. SKIP line when node or the npm package openai is missing.
set -u
cd "$(dirname "$0")/.."
. tests/serve_common.sh
if ! command -v node > /dev/null 2>&1 || [ ! -f build/node/node_modules/openai/package.json ]; then
  echo "SKIP serve_load: node or the npm package openai missing (tools/fetch_serve_clients.sh)"; exit 0
fi
work=$(mktemp -d /tmp/r1_serve_load_XXXXXX)
SERVE_PID=""
trap '[ -n "$SERVE_PID" ] && kill -KILL $SERVE_PID 2>/dev/null; rm -rf "$work"' EXIT
serve_make_model "$work" 256 > "$work/make.log" 2>&1 || { echo "FAIL serve_load_model"; tail "$work/make.log"; exit 1; }
serve_start "$work/serve.log" --model "$work/m" --threads 2 --quiet || { echo "FAIL serve_load: no server"; exit 1; }
timeout 120 node tests/serve_load.mjs "$SERVE_URL" "$SERVE_PID" "${LOAD_CLIENTS:-8}" 2 "${LOAD_SECONDS:-4}"; rc=$?
serve_stop || { echo "FAIL serve_load_exit"; rc=1; }
SERVE_PID=""
exit $rc
