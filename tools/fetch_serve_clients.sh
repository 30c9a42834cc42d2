#!/usr/bin/env bash
# Installs into build/node, when npm is present and they are missing, the clients the r1 serve
# tests drive the server with: the official `openai` npm package (tests/serve_api.sh,
# tests/serve_load.sh, bench/bench_serve.sh) and `ws` (a WebSocket client: tests/serve_page.mjs
# drives headless Chromium over the DevTools protocol with it). Pinned versions.
# Never fails the caller: without npm or network it prints a note (the tests then SKIP).
set -u
cd "$(dirname "$0")/.."
dir=build/node
openai=openai@6.30.1
ws=ws@8.18.3
[ -f "$dir/node_modules/openai/package.json" ] && [ -f "$dir/node_modules/ws/package.json" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "r1.c: npm not found; skipping $openai and $ws (the r1 serve client tests will be skipped)" >&2
  exit 0
fi
mkdir -p "$dir"
if ! npm install --silent --no-audit --no-fund --prefix "$dir" "$openai" "$ws" >&2; then
  echo "r1.c: npm install $openai $ws failed; the r1 serve client tests will be skipped" >&2
fi
exit 0
